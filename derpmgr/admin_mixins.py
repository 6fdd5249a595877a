"""Permission shapes the admin classes share."""

from django.contrib.auth import get_permission_codename


class PolicyAdminMixin:
    """The admin asks the policy (apps/accounts/policy.py) what a user may do with this model:
    the model permissions of their role group, their own grants and other groups, and, given an
    object, the visibility rule and the policy's object rules. `may(request, "refund_order")` asks for
    a custom permission of the model's app (`billing.refund_order`), e.g. from a
    `has_refund_permission` method, which `@admin.action(permissions=["refund"])` consults."""

    def may(self, request, verb: str, obj=None) -> bool:
        from apps.accounts import policy

        opts = self.opts
        codename = get_permission_codename(verb, opts) if verb in ("view", "add", "change",
                                                                   "delete") else verb
        return policy.can(request.user, f"{opts.app_label}.{codename}", obj)

    def has_module_permission(self, request):
        return any(self.may(request, verb) for verb in ("view", "add", "change", "delete"))

    def has_view_permission(self, request, obj=None):
        return self.may(request, "view", obj) or self.may(request, "change", obj)

    def has_add_permission(self, request, *args):
        return self.may(request, "add")

    def has_change_permission(self, request, obj=None):
        return self.may(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self.may(request, "delete", obj)



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
