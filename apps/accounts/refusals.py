"""What a refusal tells a person: the permission or role a page needs, in words, and which roles
hold it (the 403 page, templates/403.html). policy.require names the action it refused."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from . import policy
from .models import Role
from .roles import ROLE_PERMISSIONS

# Django's default permissions, in words a person reads (its own "Can add …" names are stored in
# English in the database).
_DEFAULT_ACTIONS = {
    "view": _("See %(things)s"),
    "add": _("Add %(things)s"),
    "change": _("Change %(things)s"),
    "delete": _("Delete %(things)s"),
}
# Highest first: the role a person would ask to be given.
_ROLE_ORDER = (Role.SUPERADMIN, Role.ADMIN, Role.DISTRIBUTOR, Role.USER)


@dataclass(frozen=True)
class Needed:
    permission: str  # the permission in words; empty for a page that is one role's by nature
    roles: list[str]  # the roles that hold it, highest first


def permission_in_words(label: str) -> str:
    """'billing.view_finance' → "Can see the finance statistics" (translated); unknown: label."""
    app_label, _dot, codename = label.partition(".")
    try:
        models = apps.get_app_config(app_label).get_models()
    except LookupError:
        return label
    for model in models:
        for code, name in model._meta.permissions:
            if code == codename:
                return str(name)
        for action in model._meta.default_permissions:
            if codename == f"{action}_{model._meta.model_name}" and action in _DEFAULT_ACTIONS:
                return str(_DEFAULT_ACTIONS[action] % {"things": model._meta.verbose_name_plural})
    return label


def roles_holding(action: str) -> list[Role]:
    """The roles that may do `action` as given: a role gate's roles, or for a permission the roles
    whose group carries it (super admins hold every permission)."""
    if action in policy.ROLE_GATES:
        return [role for role in _ROLE_ORDER if role in policy.ROLE_GATES[action]]
    return [role for role in _ROLE_ORDER
            if role == Role.SUPERADMIN or action in ROLE_PERMISSIONS.get(role, ())]


def needed(action: str) -> Needed | None:
    """What the 403 page says about the refused `action` (None: nothing is known)."""
    if not action:
        return None
    words = "" if action in policy.ROLE_GATES else permission_in_words(action)
    return Needed(permission=words, roles=[str(role.label) for role in roles_holding(action)])
