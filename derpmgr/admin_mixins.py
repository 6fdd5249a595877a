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


def confirm_action(model_admin, request, queryset, *, title, question, button, form=None):
    """The intermediate page of an admin action: None once confirmed (and `form`, if any, valid),
    else the page asking."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.shortcuts import render

    if "apply" in request.POST and (form is None or form.is_valid()):
        return None
    return render(request, "admin/confirm_action.html", {
        **model_admin.admin_site.each_context(request), "title": title, "question": question,
        "form": form, "objects": queryset, "action": request.POST.get("action"),
        "button": button, "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        "opts": model_admin.model._meta,
    }, status=400 if form is not None and form.errors else 200)
