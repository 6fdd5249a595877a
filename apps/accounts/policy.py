"""The one authorization policy: may this principal do this action (to this object)?

Actions are Django permission labels (`"servers.add_server"`, `"containers.change_derpinstance"`).
Role groups carry the permissions (apps/accounts/roles.py); a super admin grants an admin more
(or takes them back) per person or per group in the admin, and the grant counts everywhere:
pages, the API (`Allowed`) and the admin (`PolicyAdminMixin`) all ask `can`. Which rows a
principal may see is `Model.objects.visible_to(user)`; `can` decides what they may do.

Refusals: someone outside the staff is told nothing exists (404, as everywhere in the panel);
a staff member lacking a permission is told so (403).
"""

from __future__ import annotations

from derpmgr.errors import NotFound, PermissionDenied


def can(user, action: str, obj=None) -> bool:
    """True if `user` may do `action` (a permission label) to `obj` (or at all)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(action)


def require(user, action: str, obj=None) -> None:
    """Raise the refusal the principal should see unless `can(user, action, obj)`."""
    if can(user, action, obj):
        return
    from django.utils.translation import gettext as _

    if user is not None and user.is_authenticated and user.is_active and user.is_staff_role:
        raise PermissionDenied(_("You do not have permission to do this. A super admin can grant it."))
    raise NotFound(_("Not found."))


def page_requires(*actions: str):
    """Decorate a page view: signed in (else the sign-in page) and allowed every action (else
    404 outside the staff, 403 for staff lacking a grant)."""
    from functools import wraps

    from django.contrib.auth.decorators import login_required
    from django.core.exceptions import PermissionDenied as PageForbidden
    from django.http import Http404

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            for action in actions:
                try:
                    require(request.user, action)
                except PermissionDenied as refusal:
                    raise PageForbidden(refusal.message) from None
                except NotFound:
                    raise Http404 from None
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorate
