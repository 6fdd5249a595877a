"""The one authorization policy: may this principal do this action (to this object)?

Two kinds of action:

* **Permission labels** (`"servers.add_server"`, `"billing.view_finance"`): the operators' work.
  Role groups carry them (apps/accounts/roles.py); a super admin grants an admin more (or takes
  them back) per person or per group in the admin, and the grant counts everywhere: pages
  (`page_requires`), the API (`derpmgr.api.allowed`) and the admin (`PolicyAdminMixin`) all ask
  `can`. Permissions are the staff's: a distributor or customer holding one (granted by mistake)
  gains nothing, since their pages are theirs by role.
* **Role gates** (`STAFF`, `DISTRIBUTOR`, `CUSTOMER`, `SUPERADMIN`): whose pages these are,
  decided by role alone and never granted. The distributor portal is the distributor's and the
  customer pages the customer's (a super admin's account rents nothing); roles, groups and OTP
  devices are the super admin's alone (an admin who could edit them could grant themselves
  anything, or pass someone else's OTP step).

Which rows a principal may see is `Model.objects.visible_to(user)`; given an object, `can` also
asks that (an object one cannot see cannot be acted on) and the few object rules below.

Refusals (`require`): someone outside the staff is told nothing exists (404, as everywhere in
the panel), and so is anyone asking for another role's pages or an object they cannot see; a
staff member lacking a permission is told so (403).
"""

from __future__ import annotations

from functools import wraps

from django.utils.translation import gettext_lazy as _

from derpmgr.errors import NotFound, PermissionDenied

from .models import STAFF_ROLES, Role

STAFF = "role.staff"
DISTRIBUTOR = "role.distributor"
CUSTOMER = "role.customer"
SUPERADMIN = "role.superadmin"

ROLE_GATES: dict[str, frozenset[str]] = {
    STAFF: frozenset(STAFF_ROLES),
    DISTRIBUTOR: frozenset({Role.DISTRIBUTOR}),
    CUSTOMER: frozenset({Role.USER}),
    SUPERADMIN: frozenset({Role.SUPERADMIN}),
}
# Another role's pages: there is nothing here for anyone else, staff included.
_OTHERS_PAGES = frozenset({DISTRIBUTOR, CUSTOMER})

NOT_GRANTED = _("You do not have permission to do this. A super admin can grant it.")
SUPERADMIN_ONLY = _("Only a super admin can do this.")


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def _not_another_staff_account(user, account) -> bool:
    """Admins run customers' and distributors' accounts and their own, not other staff's."""
    return user.role == Role.SUPERADMIN or account.pk == user.pk or account.role not in STAFF_ROLES


# Rules about particular objects, on top of the permission and visibility.
_OBJECT_RULES = {
    "accounts.change_user": _not_another_staff_account,
    "accounts.delete_user": _not_another_staff_account,
}


def _visible(user, obj) -> bool:
    manager = type(obj)._default_manager
    if obj.pk is None or not hasattr(manager, "visible_to"):
        return True
    return manager.visible_to(user).filter(pk=obj.pk).exists()


def can(user, action: str, obj=None) -> bool:
    """True if `user` may do `action` (a permission label or a role gate) to `obj` (or at all)."""
    if not _active(user):
        return False
    if action in ROLE_GATES:
        return user.role in ROLE_GATES[action]
    if user.role not in STAFF_ROLES or not user.has_perm(action):
        return False
    if obj is None:
        return True
    rule = _OBJECT_RULES.get(action)
    return (rule is None or rule(user, obj)) and _visible(user, obj)


def require(user, action: str, obj=None) -> None:
    """Raise the refusal the principal should see unless `can(user, action, obj)`."""
    if can(user, action, obj):
        return
    staff = _active(user) and user.role in STAFF_ROLES
    if not staff or action in _OTHERS_PAGES or (obj is not None and not _visible(user, obj)):
        raise NotFound(_("Not found."))
    raise PermissionDenied(SUPERADMIN_ONLY if action == SUPERADMIN else NOT_GRANTED, needed=action)


def require_any(user, *actions: str, obj=None) -> None:
    """Pass if `user` may do one of `actions`; else the most telling refusal (a 403 for staff
    lacking a permission rather than the 404 of another role's gate)."""
    refusals = []
    for action in actions:
        try:
            require(user, action, obj)
        except (NotFound, PermissionDenied) as refusal:
            refusals.append(refusal)
        else:
            return
    raise next((r for r in refusals if isinstance(r, PermissionDenied)), refusals[0])


def require_page(user, action: str, obj=None) -> None:
    """`require` for a page: Django's 404 page, or its 403 page (templates/403.html)."""
    from django.core.exceptions import PermissionDenied as PageDenied
    from django.http import Http404

    try:
        require(user, action, obj)
    except NotFound as refusal:
        raise Http404(refusal.message) from None
    except PermissionDenied as refusal:
        denied = PageDenied(refusal.message)
        denied.needed = refusal.needed  # the 403 page names it (derpmgr/error_pages.py)
        raise denied from None


def page_requires(*actions: str):
    """A page view for principals who may do every one of `actions`: anonymous visitors sign in
    first, everyone else gets the policy's refusal."""
    from django.contrib.auth.decorators import login_required

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            for action in actions:
                require_page(request.user, action)
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorate


class Allowed:
    """`allowed.billing.view_finance` in templates: what the signed-in principal may do."""

    def __init__(self, user, prefix: str = ""):
        self._user, self._prefix = user, prefix

    def __getitem__(self, name: str):
        if not self._prefix:
            return Allowed(self._user, name)
        return can(self._user, f"{self._prefix}.{name}")

    def __iter__(self):  # templates must not try to list it
        return iter(())
