"""Permissions and groups named in the reader's language. Django stores a permission's name in
English when it creates it ("Can add user") and the role groups by their codes ("admin"); the
admin's pickers show these labels instead."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Role

_MODEL_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission) -> str:
    """"Accounts | user | Can add user", every part translated; a custom permission's name is the
    msgid it was declared with (Meta.permissions)."""
    content_type = permission.content_type
    model = content_type.model_class()
    if model is None:  # a model removed since: only the stored names are left
        return f"{content_type.app_label} | {content_type.model} | {permission.name}"
    action, _sep, model_name = permission.codename.partition("_")
    if action in _MODEL_ACTIONS and model_name == model._meta.model_name:
        name = _MODEL_ACTIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    return f"{model._meta.app_config.verbose_name} | {model._meta.verbose_name} | {name}"


def group_label(group) -> str:
    """A role group by its role's name ("管理员"), any other group by its own."""
    return str(Role(group.name).label) if group.name in Role.values else group.name


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return permission_label(obj)


class GroupChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return group_label(obj)


class NamedPermissionPickers:
    """For ModelAdmins with permission or group pickers (users, groups)."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in ("permissions", "user_permissions"):
            kwargs["form_class"] = PermissionChoiceField
        elif db_field.name == "groups":
            kwargs["form_class"] = GroupChoiceField
        return super().formfield_for_manytomany(db_field, request, **kwargs)
