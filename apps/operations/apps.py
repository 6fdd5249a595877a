from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "apps.operations"
    verbose_name = _("Operations")

    def ready(self):
        from . import services, signals  # noqa: F401  (the sweeper runs when a worker starts)

        services.discover_handlers()
