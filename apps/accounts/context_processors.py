from . import policy


def navigation(request):
    """Which layout and menu the signed-in principal gets, and `allowed.<app>.<perm>` for the
    rest of the page: both asked of the policy."""
    user = getattr(request, "user", None)
    return {
        "is_ops": policy.can(user, policy.STAFF),
        "is_distributor": policy.can(user, policy.DISTRIBUTOR),
        "allowed": policy.Allowed(user),
    }
