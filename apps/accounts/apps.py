from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from derpmgr import schema  # noqa: F401 - registers the API token's OpenAPI scheme

        from . import roles

        # Permissions are created app by app after migrating, so the role groups pick theirs up
        # after each app (idempotent; whichever app comes last completes the set).
        post_migrate.connect(roles.sync_role_permissions_after_migrate,
                             dispatch_uid="accounts.sync_role_permissions")
