from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServersConfig(AppConfig):
    name = "apps.servers"
    verbose_name = _("Servers")

    def ready(self):
        from . import checks  # noqa: F401  (registers the credentials check)
