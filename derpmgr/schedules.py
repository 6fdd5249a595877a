"""The periodic jobs every installation starts with.

`manage.py sync_schedules` writes them into django-celery-beat's tables: missing ones are
created, existing ones are left as the super admin edited them (pass --reset to restore).
"""

from django.conf import settings

DEFAULT_SCHEDULES: dict[str, dict] = {
    "Send the e-mail outbox": {
        "task": "notifications.dispatch_outbox",
        "every_seconds": 60,
        "description": "Send queued and deferred e-mails (the per-address limit is respected).",
    },
    "Expire unused activation codes": {
        "task": "distribution.expire_unused_codes",
        "every_seconds": 3600,
        "description": "Mark unused codes past their deadline as expired.",
    },
    "Reconcile relays with the servers": {
        "task": "containers.reconcile_all",
        "every_seconds": 600,
        "description": "Compare each server's relay containers with the database and fix drift.",
    },
    "Re-issue derpMaps before they expire": {
        "task": "acl.reissue_expiring",
        "every_seconds": 3600,
        "description": "Active rentals get a new 32-day derpMap a few days before the old one ends.",
    },
    "Send lost operations again": {
        "task": "operations.sweep",
        "every_seconds": 30,
        "description": "Re-queue operations a lost broker message or a killed worker left behind.",
    },
    "Move rentals along in time": {
        "task": "rentals.advance",
        "every_seconds": 60,
        "description": "Renewal reminders, suspension at the end of a rental, deregistration "
                       "after the grace period, and relay work a rental still owes.",
    },
    "Place relays customers are short of": {
        "task": "rentals.recover_shortfalls",
        "every_seconds": 600,
        "description": "Customers with fewer running relays than their plan promises get them "
                       "placed once a server has room.",
    },
    "Send alert webhooks": {
        "task": "monitoring.deliver_alerts",
        "every_seconds": 30,
        "description": "Post alert notifications to the webhooks that are due (retries with "
                       "backoff, and any a lost message left queued).",
    },
    "Probe the fleet's health": {
        "task": "monitoring.probe_fleet",
        "every_seconds": 120,
        "description": "Check every server (load, memory, disk, SSH, container engine, pings) and "
                       "relay (TCP, pinned TLS, /generate_204, STUN); mark servers unhealthy or "
                       "healthy after runs of results, raise and resolve alerts, and move relays "
                       "off servers unhealthy for too long.",
    },
    "Roll up health samples": {
        "task": "monitoring.roll_up",
        "every_seconds": 3600,
        "description": "Keep an hourly summary of the health figures and delete raw samples and "
                       "summaries past their retention.",
    },
    "Sample traffic": {
        "task": "traffic.sample",
        "every_seconds": settings.TRAFFIC_SAMPLE_SECONDS,
        "description": "Read every server's interface counters and every relay container's "
                       "network counters; add what they carried to the totals and the minute, "
                       "hour and day series; start quota months on their reset day; check "
                       "quotas and abnormal usage.",
    },
    "Prune traffic history": {
        "task": "traffic.prune",
        "every_seconds": 3600,
        "description": "Delete per-minute, hourly and daily traffic rows past their retention.",
    },
    "Follow server traffic quotas": {
        "task": "traffic.follow_quotas",
        "every_seconds": 600,
        "description": "Quota warnings, pausing relays of servers over their monthly traffic and "
                       "bringing them back on the reset day, also for servers a sampling round "
                       "could not read.",
    },
}
