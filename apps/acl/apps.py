from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ACLConfig(AppConfig):
    name = "apps.acl"
    verbose_name = _("ACL")
