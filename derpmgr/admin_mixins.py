"""Permission shapes the admin classes share."""

from django.contrib.auth import get_permission_codename

from derpmgr import admin_audit


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


class AuditedChangesMixin:
    """Every admin add, change, delete and action writes an audit event in the transaction of the
    change: who changed which fields from what to what (secrets only as changed). The admin site
    puts it in front of every ModelAdmin (admin_site.DerpAdminSite.register). Saves that call a
    service verb write the verb's event as well; this one says what the form itself changed."""

    def save_model(self, request, obj, form, change):
        form._audit_before = admin_audit.snapshot(obj, saved=True) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        admin_audit.record_save(request, form.instance, before=getattr(form, "_audit_before", {}),
                                added=not change)

    def save_formset(self, request, form, formset, change):
        before = {f.instance.pk: admin_audit.snapshot(f.instance, saved=True)
                  for f in formset.initial_forms if f.instance.pk is not None}
        for deleted in formset.deleted_forms:  # while they still have their ids
            if deleted.instance.pk is not None:
                admin_audit.record_deletion(request, deleted.instance)
        super().save_formset(request, form, formset, change)
        for obj in getattr(formset, "new_objects", []):
            admin_audit.record_save(request, obj, before={}, added=True)
        for obj, _fields in getattr(formset, "changed_objects", []):
            admin_audit.record_save(request, obj, before=before.get(obj.pk, {}), added=False)

    def delete_model(self, request, obj):
        admin_audit.record_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            admin_audit.record_deletion(request, obj)
        super().delete_queryset(request, queryset)

    def get_actions(self, request):
        return {name: (admin_audit.audited_action(func, name), name, description)
                for name, (func, name, description) in super().get_actions(request).items()}


class BadListParameters(Exception):
    """The list's query string names a date or a filter value the database cannot take."""


class SafeChangeListMixin:
    """A list address with an impossible date (`?created_at__year=99999999`, the year 9999 whose
    next year does not exist) or a filter value out of the column's range answers 400 with a
    link to the whole list, never 500. The admin site puts it in front of every ModelAdmin."""

    def get_changelist_instance(self, request):
        from django.contrib.admin.options import IncorrectLookupParameters
        from django.core.exceptions import ValidationError
        from django.db import DataError, transaction

        try:
            with transaction.atomic():  # PostgreSQL: a refused value must not spoil the request
                return super().get_changelist_instance(request)
        except (IncorrectLookupParameters, ValidationError, ValueError, OverflowError,
                DataError) as error:
            raise BadListParameters from error

    def changelist_view(self, request, extra_context=None):
        from django.template.response import TemplateResponse
        from django.utils.translation import gettext as _

        try:
            return super().changelist_view(request, extra_context)
        except BadListParameters:
            return TemplateResponse(request, "admin/bad_list_parameters.html", {
                **self.admin_site.each_context(request), "opts": self.model._meta,
                "title": _("These filters cannot be shown"),
            }, status=400)


def yuan_column(model, field_name: str):
    """An admin column or read-only field showing a stored fen amount as ¥, under the field's
    name: `amount = yuan_column(Order, "amount_fen")`, then "amount" in list_display/fields."""
    from django.contrib import admin

    from derpmgr.money import format_fen

    @admin.display(description=model._meta.get_field(field_name).verbose_name, ordering=field_name)
    def column(self, obj):
        return format_fen(getattr(obj, field_name))

    return column


class YuanFieldsMixin:
    """The admin's forms take every `*_fen` model field in yuan (derpmgr.money.YuanField)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name.endswith("_fen") and db_field.editable:
            from django.utils.text import capfirst

            from derpmgr.money import YuanField

            return YuanField(label=capfirst(db_field.verbose_name), min_fen=0,
                             required=not db_field.blank, initial=db_field.get_default() or None)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
