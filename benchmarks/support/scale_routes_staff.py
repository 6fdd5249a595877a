"""The staff's pages for benchmarks/scale.py (lane B of issue 15): the /ops/ pages, the finance
page and its API, and the Django admin's lists, each as (path, persona).

scale.py seeds a fresh database, so ids are known: the personas are users 1–4 (super admin,
admin, distributor, the measured customer 4) and the first server seeded is server 1.
"""

ADMIN_LISTS = [
    "accounts/user", "acl/device", "acl/aclconfig", "acl/acllog", "audit/auditevent",
    "billing/order", "billing/wallet", "billing/commission", "containers/derpinstance",
    "distribution/activationcode", "monitoring/alert", "notifications/outboundemail",
    "operations/operation", "rentals/rental", "servers/server",
]

ROUTES = [
    ("/ops/", "admin"),
    ("/ops/", "superadmin"),
    ("/ops/servers/", "admin"),
    ("/ops/servers/?status=healthy&q=scale", "admin"),
    ("/ops/servers/?page=5", "admin"),
    ("/ops/servers/1/", "admin"),
    ("/ops/customers/4/", "admin"),
    ("/ops/audit/", "superadmin"),
    ("/ops/audit/", "admin"),
    ("/ops/audit/?action=servers", "superadmin"),
    ("/ops/operations/", "admin"),
    ("/ops/alerts/", "admin"),
    ("/ops/load/", "admin"),
    ("/ops/traffic/", "admin"),
    ("/ops/finance/", "superadmin"),
    ("/api/finance/statistics", "superadmin"),
    *[(f"/admin/{model}/", "superadmin") for model in ADMIN_LISTS],
    ("/admin/containers/derpinstance/?o=5", "superadmin"),  # sorted by created
    ("/admin/audit/auditevent/?created_at__year=2026", "superadmin"),
    ("/admin/accounts/user/", "admin"),
    ("/admin/distribution/activationcode/", "admin"),
    ("/admin/containers/derpinstance/", "admin"),
]
