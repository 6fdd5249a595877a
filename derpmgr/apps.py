from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OtpStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OtpTotpConfig


class DerpAdminConfig(AdminConfig):
    """The Django admin, behind OTP verification (see derpmgr.admin_site)."""

    default_site = "derpmgr.admin_site.DerpAdminSite"

    def ready(self):
        super().ready()
        from derpmgr import proxies  # noqa: F401 - registers the production check on proxies


def _name(model, singular, plural) -> None:
    """django-otp names its models in English only. Named here at run time: migrations compare
    the Meta the model declares, so this changes no schema and no migration."""
    model._meta.verbose_name, model._meta.verbose_name_plural = singular, plural


class AuthenticatorAppsConfig(OtpTotpConfig):
    verbose_name = _("Authenticator apps")

    def ready(self):
        super().ready()
        _name(self.get_model("TOTPDevice"), _("authenticator app"), _("authenticator apps"))


class BackupCodesConfig(OtpStaticConfig):
    verbose_name = _("Backup codes")

    def ready(self):
        super().ready()
        _name(self.get_model("StaticDevice"), _("backup code set"), _("backup code sets"))
        _name(self.get_model("StaticToken"), _("backup code"), _("backup codes"))
