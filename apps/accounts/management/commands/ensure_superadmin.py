import os
import secrets

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import Role, User

DEFAULT_EMAIL = "admin@derpmgr.local"


def _free_username() -> str:
    """'admin', unless an account (a customer, say) took it first."""
    username = "admin"
    while User.objects.filter(username__iexact=username).exists():
        username = f"admin-{secrets.token_hex(3)}"
    return username


class Command(BaseCommand):
    help = ("Create the first super admin if there is none. E-mail and password come from "
            "DERPMGR_ADMIN_EMAIL / DERPMGR_ADMIN_PASSWORD, or are generated and printed once.")

    @transaction.atomic
    def handle(self, *args, **options):
        if User.objects.filter(role=Role.SUPERADMIN, is_active=True).exists():
            self.stdout.write("A super admin exists already; sign in with that account.")
            return
        # An empty variable (a compose file's `DERPMGR_ADMIN_PASSWORD=`) counts as unset: the
        # password is then generated *and printed*, never silently unknown.
        email = os.environ.get("DERPMGR_ADMIN_EMAIL", "").strip() or DEFAULT_EMAIL
        given_password = os.environ.get("DERPMGR_ADMIN_PASSWORD", "")
        password = given_password or secrets.token_urlsafe(12)
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"{email} exists but is not an active super admin; "
                               "set DERPMGR_ADMIN_EMAIL to another address.")
        User.objects.create_superuser(username=_free_username(), email=email, password=password)
        self.stdout.write(self.style.SUCCESS("Super admin created."))
        self.stdout.write(f"  e-mail:   {email}")
        if given_password:
            self.stdout.write("  password: (from DERPMGR_ADMIN_PASSWORD)")
        else:
            self.stdout.write(f"  password: {password}")
            self.stdout.write("  This password is shown once. Sign in, then set up two-factor "
                              "authentication when asked.")
