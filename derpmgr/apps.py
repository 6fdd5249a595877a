from django.contrib.admin.apps import AdminConfig


class DerpAdminConfig(AdminConfig):
    """The Django admin, behind OTP verification (see derpmgr.admin_site)."""

    default_site = "derpmgr.admin_site.DerpAdminSite"

    def ready(self):
        super().ready()
        from derpmgr import proxies  # noqa: F401 - registers the production check on proxies
