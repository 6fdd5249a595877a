"""The periodic jobs every installation starts with.

`manage.py sync_schedules` writes them into django-celery-beat's tables: missing ones are
created, existing ones are left as the super admin edited them (pass --reset to restore).
"""

from django.conf import settings
from django.utils.translation import gettext_noop

# Names and descriptions are stored in English (beat's rows are data); marked for translation so
# that the admin shows them in the reader's language (apps/operations/beat_admin.py).

DEFAULT_SCHEDULES: dict[str, dict] = {
    gettext_noop("Send the e-mail outbox"): {
        "task": "notifications.dispatch_outbox",
        "every_seconds": 60,
        "description": gettext_noop(
            "Send queued and deferred e-mails (the per-address limit is respected)."),
    },
    gettext_noop("Expire unused activation codes"): {
        "task": "distribution.expire_unused_codes",
        "every_seconds": 3600,
        "description": gettext_noop(
            "Mark unused codes past their deadline as expired."),
    },
    gettext_noop("Reconcile relays with the servers"): {
        "task": "containers.reconcile_all",
        "every_seconds": 600,
        "description": gettext_noop(
            "Compare each server's relay containers with the database and fix drift."),
    },
    gettext_noop("Re-issue derpMaps before they expire"): {
        "task": "acl.reissue_expiring",
        "every_seconds": 3600,
        "description": gettext_noop(
            "Active rentals get a new 32-day derpMap a few days before the old one ends."),
    },
    gettext_noop("Send lost operations again"): {
        "task": "operations.sweep",
        "every_seconds": 30,
        "description": gettext_noop(
            "Re-queue operations a lost broker message or a killed worker left behind."),
    },
    gettext_noop("Move rentals along in time"): {
        "task": "rentals.advance",
        "every_seconds": 60,
        "description": gettext_noop(
            "Renewal reminders, suspension at the end of a rental, deregistration "
                       "after the grace period, and relay work a rental still owes."),
    },
    gettext_noop("Place relays customers are short of"): {
        "task": "rentals.recover_shortfalls",
        "every_seconds": 600,
        "description": gettext_noop(
            "Customers with fewer running relays than their plan promises get them "
                       "placed once a server has room."),
    },
    gettext_noop("Send alert webhooks"): {
        "task": "monitoring.deliver_alerts",
        "every_seconds": 30,
        "description": gettext_noop(
            "Post alert notifications to the webhooks that are due (retries with "
                       "backoff, and any a lost message left queued)."),
    },
    gettext_noop("Probe the fleet's health"): {
        "task": "monitoring.probe_fleet",
        "every_seconds": 120,
        "description": gettext_noop(
            "Check every server (load, memory, disk, SSH, container engine, pings) and "
                       "relay (TCP, pinned TLS, /generate_204, STUN); mark servers unhealthy or "
                       "healthy after runs of results, raise and resolve alerts, and move relays "
                       "off servers unhealthy for too long."),
    },
    gettext_noop("Roll up health samples"): {
        "task": "monitoring.roll_up",
        "every_seconds": 3600,
        "description": gettext_noop(
            "Keep an hourly summary of the health figures and delete raw samples and "
                       "summaries past their retention."),
    },
    gettext_noop("Sample traffic"): {
        "task": "traffic.sample",
        "every_seconds": settings.TRAFFIC_SAMPLE_SECONDS,
        "description": gettext_noop(
            "Read every server's interface counters and every relay container's "
                       "network counters; add what they carried to the totals and the minute, "
                       "hour and day series; start quota months on their reset day; check "
                       "quotas and abnormal usage."),
    },
    gettext_noop("Prune traffic history"): {
        "task": "traffic.prune",
        "every_seconds": 3600,
        "description": gettext_noop(
            "Delete per-minute, hourly and daily traffic rows past their retention."),
    },
    gettext_noop("Follow server traffic quotas"): {
        "task": "traffic.follow_quotas",
        "every_seconds": 600,
        "description": gettext_noop(
            "Quota warnings, pausing relays of servers over their monthly traffic and "
                       "bringing them back on the reset day, also for servers a sampling round "
                       "could not read."),
    },
}
