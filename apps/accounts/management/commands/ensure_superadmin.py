import os
import secrets

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import Role, User


class Command(BaseCommand):
    help = ("Create the first super admin if there is none. E-mail and password come from "
            "DERPMGR_ADMIN_EMAIL / DERPMGR_ADMIN_PASSWORD, or are generated and printed once.")

    @transaction.atomic
    def handle(self, *args, **options):
        if User.objects.filter(role=Role.SUPERADMIN, is_active=True).exists():
            self.stdout.write("A super admin exists already; sign in with that account.")
            return
        email = os.environ.get("DERPMGR_ADMIN_EMAIL", "admin@derpmgr.local")
        password = os.environ.get("DERPMGR_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"{email} exists but is not an active super admin; "
                               "set DERPMGR_ADMIN_EMAIL to another address.")
        User.objects.create_superuser(username="admin", email=email, password=password)
        generated = "DERPMGR_ADMIN_PASSWORD" not in os.environ
        self.stdout.write(self.style.SUCCESS("Super admin created."))
        self.stdout.write(f"  e-mail:   {email}")
        self.stdout.write(f"  password: {password if generated else '(from DERPMGR_ADMIN_PASSWORD)'}")
        if generated:
            self.stdout.write("  This password is shown once. Sign in, then set up two-factor "
                              "authentication when asked.")
