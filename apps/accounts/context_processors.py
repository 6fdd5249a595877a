from .models import Role


def navigation(request):
    """Which layout and menu the signed-in principal gets."""
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    return {
        "nav_role": role,
        "is_ops": role in (Role.SUPERADMIN, Role.ADMIN),
        "is_distributor": role == Role.DISTRIBUTOR,
    }
