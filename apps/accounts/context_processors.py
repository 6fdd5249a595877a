from . import policy


def _layout(user) -> str:
    """The principal's own shell: the ops, portal or customer menu; the bare shell for a visitor."""
    if policy.can(user, policy.STAFF):
        return "layouts/ops.html"
    if policy.can(user, policy.DISTRIBUTOR):
        return "layouts/portal.html"
    if policy.can(user, policy.CUSTOMER):
        return "layouts/user.html"
    return "base.html"


def navigation(request):
    """Which layout and menu the signed-in principal gets, and `allowed.<app>.<perm>` for the
    rest of the page: both asked of the policy."""
    user = getattr(request, "user", None)
    return {
        "is_ops": policy.can(user, policy.STAFF),
        "is_distributor": policy.can(user, policy.DISTRIBUTOR),
        "layout": _layout(user),
        "allowed": policy.Allowed(user),
    }
