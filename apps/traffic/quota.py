"""Monthly traffic quotas of servers: the warning, over-quota and the reset day.

After each sampling round (and when an operator changes a quota), for each server given:

- used ≥ the warning share of its quota (MonitoringSettings.quota_warning_percent): a
  QUOTA_WARNING alert with the figures and the reset date, resolved once the month resets or the
  quota is raised;
- used ≥ its quota: the server goes over quota (only from healthy or unhealthy: an operator's
  maintenance or draining, and a set-up, stay), its running relays are marked paused and a QUOTA
  operation stops them (ports and containers stay), placement avoids it, a critical OVER_QUOTA
  alert opens, and each customer affected gets one e-mail;
- no longer over (the sampling round reset the month, or the quota was raised or removed): the
  server is healthy again, the QUOTA operation restarts the paused relays of customers whose
  rental wants them running (a suspended customer's stay stopped), the alert resolves, and
  those customers get one e-mail each.

Each change is a conditional update with its e-mails in the same transaction, so two rounds at
once change the server once, ask for one operation and send one e-mail per customer. A round
also asks for the QUOTA work again whenever the paused relays are not yet what the quota wants
(a stop that failed for good, say): the work is never dropped.
"""

import datetime

from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.containers import services as containers
from apps.containers.models import DerpInstance, InstanceStatus
from apps.monitoring import services as monitoring
from apps.monitoring.models import AlertType, MonitoringSettings, Severity
from apps.notifications import services as notifications
from apps.servers import services as servers
from apps.servers.models import Server, ServerStatus

from . import counting


def after_sampling(*, server_ids: list[int], now) -> None:
    """Called by the sampling round once the servers' monthly figures are updated."""
    warning_percent = MonitoringSettings.current().quota_warning_percent
    for server in Server.objects.filter(pk__in=server_ids).order_by("pk"):
        follow(server=server, now=now, warning_percent=warning_percent)


def follow_all(*, now) -> int:
    """The quota rules for every server with a quota, over quota, or with paused relays (the
    periodic safety net for servers a sampling round could not read). Returns how many."""
    ids = list(Server.objects.filter(
        Q(monthly_quota_bytes__gt=0) | Q(status=ServerStatus.OVER_QUOTA)
        | Q(instances__paused_for_quota=True)).distinct().values_list("pk", flat=True))
    after_sampling(server_ids=ids, now=now)
    return len(ids)


def next_reset(server: Server, now) -> datetime.date:
    """The day (panel time) the server's quota month resets next."""
    return counting.next_reset_day(now, server.quota_reset_day)


def figures(server: Server, now) -> dict:
    """What the alerts and the audit say: used, quota, remaining, the reset date."""
    quota, used = server.monthly_quota_bytes, server.traffic_month_bytes
    return {"used_bytes": used, "quota_bytes": quota,
            "remaining_bytes": max(0, quota - used) if quota else None,
            "percent": round(100 * used / quota, 1) if quota else None,
            "reset_date": next_reset(server, now).isoformat()}


def follow(*, server: Server, now, warning_percent: int) -> None:
    quota, used = server.monthly_quota_bytes, server.traffic_month_bytes
    numbers = figures(server, now)
    words = _words(server, now)
    monitoring.set_alert(
        condition=bool(quota) and used * 100 >= quota * warning_percent,
        type=AlertType.QUOTA_WARNING, target=server, severity=Severity.WARNING,
        message=_("%(server)s used %(used)s of its %(quota)s monthly traffic quota; "
                  "%(remaining)s left until it resets on %(reset)s.") % words, details=numbers)
    if quota and used >= quota:
        _over(server, now, numbers, words)
    else:
        _not_over(server, now, numbers)
    if containers.quota_out_of_line(server):
        containers.request_quota_work(server=server)


def _over(server: Server, now, numbers: dict, words: dict) -> None:
    with transaction.atomic():
        if servers.mark_over_quota(server=server, details=numbers):
            users = containers.pause_for_quota(server=server)
            _tell(users, "quota-paused", server, now)
        else:
            server.refresh_from_db(fields=["status"])  # a concurrent round may have changed it
    if server.status == ServerStatus.OVER_QUOTA:
        message = _("%(server)s used up its %(quota)s monthly traffic quota; its relays are "
                    "stopped until it resets on %(reset)s.") % words
    else:  # an operator's status (maintenance, draining) stays, and so do its relays
        message = _("%(server)s used up its %(quota)s monthly traffic quota (it resets on "
                    "%(reset)s); it is %(status)s, so its relays were left as they are.") % {
            **words, "status": server.get_status_display()}
    monitoring.open_alert(type=AlertType.OVER_QUOTA, target=server, severity=Severity.CRITICAL,
                          message=message, details=numbers)


def _not_over(server: Server, now, numbers: dict) -> None:
    if server.status == ServerStatus.OVER_QUOTA:
        with transaction.atomic():
            users = containers.resuming_customers(server=server)
            if servers.clear_over_quota(server=server, details=numbers):
                containers.request_quota_work(server=server)
                _tell(users, "quota-resumed", server, now)
            else:
                server.refresh_from_db(fields=["status"])
    monitoring.resolve_alert(type=AlertType.OVER_QUOTA, target=server)


def _words(server: Server, now) -> dict:
    quota, used = server.monthly_quota_bytes, server.traffic_month_bytes
    return {"server": server.name, "used": filesizeformat(used), "quota": filesizeformat(quota),
            "remaining": filesizeformat(max(0, quota - used)),
            "reset": date_format(next_reset(server, now), "DATE_FORMAT")}


def _tell(user_ids: list[int], template: str, server: Server, now) -> None:
    """One e-mail per customer about their relay on this server (in the caller's transaction:
    it leaves only if the change it tells of commits)."""
    reset = next_reset(server, now)
    for user in User.objects.filter(pk__in=user_ids).exclude(email=""):
        relays = [f"{instance.server.hostname}:{instance.port}" for instance in
                  DerpInstance.objects.select_related("server").filter(
                      user=user, server=server, status__in=(InstanceStatus.RUNNING,
                                                            InstanceStatus.STOPPED))]
        others = DerpInstance.objects.filter(user=user, status=InstanceStatus.RUNNING) \
            .exclude(server=server).count()
        notifications.send_to_user(user=user, template=template, context={
            "server": server.name, "relays": relays, "reset": reset, "other_relays": others})
