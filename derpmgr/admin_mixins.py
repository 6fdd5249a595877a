"""Permission shapes the admin classes share."""


class ReadOnlyAdmin:
    """Rows made by services only: the admin lists and shows them, never adds, edits or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def render_form_page(model_admin, request, *, form, title, button):
    """An admin page holding one form (top up, generate codes, test e-mail), 400 when invalid."""
    from django.shortcuts import render

    context = {**model_admin.admin_site.each_context(request), "form": form, "title": title,
               "button": button, "opts": model_admin.model._meta}
    return render(request, "admin/form_page.html", context, status=400 if form.errors else 200)
