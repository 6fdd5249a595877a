"""The admin never links to what the viewer cannot open.

A read-only foreign key on an admin page is shown as a link to the related object's page
(django.contrib.admin.helpers.AdminReadonlyField.get_admin_url), whether or not the viewer may
see that object: an admin reading an activation code the super admin made would follow the
link to "不存在。可能已经被删除了？". Here the link is drawn only when the related object's admin
would open it for this viewer (its permission and its queryset, i.e. the model's visible_to);
otherwise the object's name is shown as text.

The viewer is known from AdminViewer (a middleware): the link is drawn while the template
renders, after the view returned, where the admin has no request at hand.
"""

from contextvars import ContextVar

from django.contrib.admin import helpers

_viewer: ContextVar = ContextVar("admin_viewer", default=None)
_draw_link = helpers.AdminReadonlyField.get_admin_url


def may_open(request, obj) -> bool:
    """Whether the admin page of `obj` would open for this request's user."""
    from django.contrib import admin

    model_admin = admin.site._registry.get(type(obj))
    if model_admin is None or request is None:
        return False
    if not model_admin.has_view_or_change_permission(request, obj):
        return False
    return model_admin.get_queryset(request).filter(pk=obj.pk).exists()


def get_admin_url(field, remote_field, remote_obj):
    if not may_open(_viewer.get(), remote_obj):
        return str(remote_obj)
    return _draw_link(field, remote_field, remote_obj)


helpers.AdminReadonlyField.get_admin_url = get_admin_url


class AdminViewer:
    """Remembers who is looking at an admin page while it is made and rendered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        token = _viewer.set(request)
        try:
            response = self.get_response(request)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # the links are drawn now, while the viewer is known
            return response
        finally:
            _viewer.reset(token)
