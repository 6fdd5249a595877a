"""What every persona must get from every route: the table the authorization matrix
(test_authorization_matrix.py) walks. A URL pattern missing here fails that test: classify a new
route by adding its row.

The answers, as everywhere in the panel: a page sends an anonymous visitor to sign in (LOGIN), the
API asks for credentials (401); outside the staff, another role's page or an object one may not
see does not exist (404); a staff member lacking a grant is told so (403). A request carries an
empty or minimal body: the table is about who gets through, so a 400 (or 409) for the right
persona means "authorized, then refused the empty input". Path parameters name objects of the
world (matrix_world.py) owned by the customer, the distributor or the admin, so the strangers'
answers test IDOR.
"""

from dataclasses import dataclass, field

from tests.project.matrix_world import PERSONAS

LOGIN = "login"  # 302 to the panel's sign-in page
SIGNED_OUT = "signed out"  # the same redirect, after signing out: an answer, not a refusal
GONE = "gone"  # 302 to the admin index: the Django admin's answer for an object one may not see
ANY_302 = 302  # a redirect elsewhere than the sign-in page

GROUPS = {"customers": ("customer", "stranger"), "distributors": ("distributor", "rival"),
          "admins": ("admin", "other_admin"), "staff": ("admin", "other_admin", "superadmin"),
          "members": PERSONAS[1:]}


def expect(anonymous, default=404, **answers) -> dict:
    """Answers per persona: `default`, then groups (customers, distributors, admins, staff,
    members), then single personas."""
    table = dict.fromkeys(PERSONAS, default)
    table["anonymous"] = anonymous
    for name in ("members", "customers", "distributors", "admins", "staff"):
        if name in answers:
            table.update(dict.fromkeys(GROUPS[name], answers.pop(name)))
    unknown = set(answers) - set(PERSONAS)
    assert not unknown, f"not personas: {unknown}"
    table.update(answers)
    return table


def page(default=404, **answers) -> dict:
    return expect(LOGIN, default, **answers)


def api(default=404, **answers) -> dict:
    return expect(401, default, **answers)


@dataclass(frozen=True)
class Row:
    pattern: str  # as django.urls enumerates it
    method: str
    expect: dict
    args: dict = field(default_factory=dict)  # path parameter → the world's target filling it
    query: str = ""
    api: bool = False  # asked with the bearer-token clients (every /api/ route is)

    @property
    def name(self) -> str:
        return f"{self.method.upper()} /{self.pattern}"


def row(pattern, method, answers, *, query="", api=False, **args) -> Row:
    return Row(pattern, method, answers, args, query, api or pattern.startswith("api/"))


# The leaks this matrix found when it was written (finance in the system log for admins, the
# super admin's reset link in the outbox) are closed: a leak shows as a wrong answer or a marker.

PUBLIC_200 = expect(200, 200)
STAFF_PAGE = page(staff=200)
STAFF_API = api(staff=200)

ROUTES = [
    # --- Accounts: public pages and each member's own -------------------------------------------
    row("", "get", expect(200, ANY_302)),
    row("accounts/register/", "get", PUBLIC_200),
    row("accounts/register/", "post", expect(400, 400)),
    row("accounts/verify/resend/", "get", PUBLIC_200),
    row("accounts/verify/<signed:token>/", "get", expect(400, 400), token="nonsense-but-well-formed"),
    row("accounts/login/", "get", expect(200, ANY_302)),
    row("accounts/login/", "post", expect(400, 400)),
    row("accounts/logout/", "post", page(SIGNED_OUT)),
    row("accounts/mfa/", "get", page(200)),
    # Nothing to verify for a customer without a device; distributors and staff have one.
    row("accounts/mfa/verify/", "get", page(200, customers=ANY_302)),
    row("accounts/mfa/start/", "post", page(ANY_302)),
    row("accounts/mfa/confirm/", "post", page(ANY_302)),
    row("accounts/mfa/backup-codes/", "post", page(ANY_302)),
    row("accounts/mfa/disable/", "post", page(ANY_302)),
    row("accounts/profile/", "get", page(200)),
    row("accounts/profile/", "post", page(400)),
    row("accounts/me/", "get", page(200)),
    row("accounts/password/reset/", "get", PUBLIC_200),
    row("accounts/password/reset/", "post", expect(400, 400)),
    row("accounts/password/reset/sent/", "get", PUBLIC_200),
    row("accounts/password/reset/<uidb64>/<token>/", "get", PUBLIC_200, uidb64="MQ", token="nonsense"),
    row("accounts/invitation/<uidb64>/<token>/", "get", PUBLIC_200, uidb64="MQ", token="nonsense"),
    row("i18n/setlang/", "post", expect(ANY_302, ANY_302)),
    row("api/user/register", "post", expect(400, 400)),
    row("api/user/verify", "post", expect(400, 400)),
    row("api/user/resend_verification", "post", expect(400, 400)),
    row("api/user/login", "post", expect(400, 400)),
    row("api/user/logout", "post", api(200)),
    row("api/user/me", "get", api(200)),
    row("api/schema", "get", api(200)),
    # Swagger UI over the schema: the staff's.
    row("api/docs/", "get", STAFF_API),
    row("api/", "get", expect(404)),
    row("api/<path:unknown>", "get", expect(404), unknown="no/such/route"),
    # --- The distributor's portal ---------------------------------------------------------------
    row("portal/", "get", page(distributors=200)),
    row("portal/codes/", "get", page(distributors=200)),
    row("portal/codes/export/", "post", page(distributors=ANY_302)),
    # An export is seen and downloaded by the distributor who asked for it, by nobody else.
    row("portal/exports/<int:pk>/", "get", page(distributor=200), pk="export"),
    row("portal/exports/<int:pk>/download/", "get", page(distributor=200), pk="export"),
    row("portal/codes/generate/", "get", page(distributors=200)),
    row("portal/codes/generate/", "post", page(distributors=400)),
    row("portal/codes/generate/confirm/", "post", page(distributors=400)),  # no review: refused
    # Shown once, to the session that generated the batch: everyone else is sent to the list.
    row("portal/codes/generated/<order:number>/", "get", page(distributors=ANY_302), number="batch"),
    row("portal/codes/revoke/", "post", page(distributors=400)),
    row("portal/codes/revoke/confirm/", "post", page(distributors=400)),
    row("portal/orders/", "get", page(distributors=200)),
    # The batch is the distributor's: the rival distributor must not see it.
    row("portal/orders/<order:number>/", "get", page(distributor=200), number="batch"),
    row("portal/ledger/", "get", page(distributors=200)),
    row("api/distributor/serial/generate", "post", api(distributors=400)),
    row("api/distributor/serials", "get", api(distributors=200, staff=200)),
    row("api/serial/generate", "post", api(staff=400)),
    row("api/serial/activate", "post", api(400)),
    row("api/serial/revoke", "post", api(distributors=400, staff=400)),
    # --- The customer's commerce pages and relays -----------------------------------------------
    row("billing/activate/", "get", page(customers=200)),
    row("billing/activate/", "post", page(customers=400)),
    row("billing/buy/", "get", page(customers=200)),
    row("billing/buy/", "post", page(customers=400)),
    row("billing/buy/confirm/", "post", page(customers=400)),  # no review: refused
    row("billing/orders/", "get", page(customers=200)),
    row("billing/balance/", "get", page(customers=200)),
    row("billing/summary/", "get", page(customers=200)),
    row("relays/mine/", "get", page(customers=200)),
    row("api/container/mine", "get", api(customers=200)),
    row("api/user/me/rental", "get", api(customers=200)),
    row("api/user/me/traffic", "get", api(200)),
    row("api/billing/plans", "get", api(200)),
    row("api/billing/balance", "get", api(200)),
    row("api/billing/purchase", "post", api(400)),
    row("api/orders", "get", api(200)),
    # --- derpMaps and devices -------------------------------------------------------------------
    row("acl/", "get", page(customers=200)),
    row("acl/download/<str:fmt>/", "get", page(customers=200), fmt="fmt"),
    row("acl/devices/", "get", page(customers=200)),
    row("acl/devices/", "post", page(customers=400)),
    row("^acl/devices/(?P<pk>[0-9]{1,18})/rename/$", "post", page(customer=400), pk="device"),
    row("^acl/devices/(?P<pk>[0-9]{1,18})/remove/$", "post", page(customer=ANY_302), pk="device"),
    # The feed's token is its credential (Headscale fetches it without an account).
    row("acl/feed/<urltoken:token>.json", "get", expect(200, 200), token="feed"),
    # Not a token the panel issues: the feed's JSON 404 for everyone.
    row("^acl/feed/", "get", expect(404, 404)),
    # A new derpMap URL for oneself (the old one stops working): customers only.
    row("acl/feed-url/rotate/", "post", page(customers=ANY_302)),
    row("api/acl/feed/rotate", "post", api(customers=200)),
    row("api/acl/generate", "post", api(409, customers=201)),
    row("api/acl/devices", "get", api(200)),
    row("api/acl/devices", "post", api(400)),
    # The staff run the customers' devices too (the admin's device pages likewise).
    row("api/acl/devices/<int:pk>", "patch", api(customer=400, staff=400), pk="device"),
    row("api/acl/devices/<int:pk>", "delete", api(customer=200, staff=200), pk="device"),
    # One's own derpMap: an account without a rental is told why there is none.
    row("api/acl/download", "get", api(403, customers=200), query="format=json"),
    row("api/acl/logs", "get", STAFF_API),
    # derper's admission call: the relay's token is the credential, the answer a bare Allow.
    row("api/acl/admit/<urltoken:token>", "post", expect(200, 200), token="admission"),
    row("api/acl/ping", "get", expect(200, 200)),
    # --- The operators' pages -------------------------------------------------------------------
    row("ops/", "get", STAFF_PAGE),
    row("ops/audit/", "get", STAFF_PAGE),
    row("ops/finance/", "get", page(admins=403, superadmin=200)),
    row("ops/servers/", "get", STAFF_PAGE),
    row("ops/servers/add/", "get", page(admins=403, superadmin=200)),
    row("ops/servers/add/", "post", page(admins=403, superadmin=400)),
    row("ops/servers/<int:pk>/", "get", STAFF_PAGE, pk="server"),
    row("ops/servers/<int:pk>/check/", "post", page(staff=ANY_302), pk="server"),
    row("ops/servers/<int:pk>/reconcile/", "post", page(staff=ANY_302), pk="server"),
    row("ops/servers/<int:pk>/drain/", "post", page(staff=ANY_302), pk="server"),
    row("ops/servers/<int:pk>/repin/", "post", page(staff=ANY_302), pk="server"),
    row("ops/servers/<int:pk>/delete/", "post", page(admins=403, superadmin=409), pk="server"),
    row("ops/servers/<int:pk>/speed-test/", "post", page(staff=ANY_302), pk="server"),
    row("ops/operations/", "get", STAFF_PAGE),
    row("ops/operations/<int:pk>/", "get", STAFF_PAGE, pk="operation"),
    row("ops/operations/<int:pk>/cancel/", "post", page(staff=ANY_302), pk="operation"),
    row("ops/customers/<int:pk>/", "get", STAFF_PAGE, pk="customer"),
    row("ops/customers/<int:pk>/renew/", "post", page(staff=400), pk="customer"),
    row("ops/customers/<int:pk>/suspend/", "post", page(staff=400), pk="customer"),
    row("ops/customers/<int:pk>/resume/", "post", page(staff=409), pk="customer"),
    row("ops/customers/<int:pk>/delete/", "post", page(admins=403, superadmin=400), pk="customer"),
    row("ops/alerts/", "get", STAFF_PAGE),
    row("ops/alerts/<int:pk>/", "get", STAFF_PAGE, pk="alert"),
    row("ops/alerts/<int:pk>/", "post", page(staff=400), pk="alert"),
    row("ops/load/", "get", STAFF_PAGE),
    row("ops/traffic/", "get", STAFF_PAGE),
    # --- The operators' API ---------------------------------------------------------------------
    row("api/server/add", "post", api(admins=403, superadmin=400)),
    row("api/server/list", "get", STAFF_API),
    row("api/server/health_check", "get", api(staff=202)),
    row("api/server/<int:pk>", "get", STAFF_API, pk="server"),
    row("api/server/<int:pk>/repin", "post", api(staff=202), pk="server"),
    row("api/server/<int:pk>/status", "post", api(staff=400), pk="server"),
    row("api/server/<int:pk>/reconcile", "post", api(staff=202), pk="server"),
    row("api/server/<int:pk>/drain", "post", api(staff=202), pk="server"),
    row("api/server/<int:pk>/metrics", "get", STAFF_API, pk="server", query="metric=load1"),
    row("api/server/<int:pk>/speed_test", "post", api(staff=202), pk="server"),
    row("api/container/assign", "post", api(staff=400)),
    row("api/container/allocate", "post", api(staff=400)),
    row("api/container/stop", "post", api(staff=400)),
    row("api/container/list", "get", STAFF_API),
    row("api/container/<int:pk>/start", "post", api(staff=409), pk="relay"),
    row("api/container/<int:pk>/restart", "post", api(staff=202), pk="relay"),
    row("api/container/<int:pk>/remove", "post", api(staff=202), pk="relay"),
    row("api/container/<int:pk>/migrate", "post", api(staff=409), pk="relay"),
    row("api/container/<int:pk>/traffic", "get", api(customer=200, staff=200), pk="relay"),
    row("api/ha/failover", "post", api(staff=202)),
    row("api/operations", "get", api(200)),
    row("api/operations/<int:pk>", "get", api(customer=200, staff=200), pk="operation"),
    row("api/operations/<int:pk>/cancel", "post", api(staff=409), pk="operation"),
    # The super admin may, once the customer's money is settled (it is not, here).
    row("api/user/<int:pk>", "delete", api(admins=403, superadmin=409), pk="customer"),
    row("api/user/<int:pk>/rental", "get", STAFF_API, pk="customer"),
    row("api/user/<int:pk>/renew", "post", api(staff=400), pk="customer"),
    row("api/user/<int:pk>/suspend", "post", api(staff=400), pk="customer"),
    row("api/user/<int:pk>/resume", "post", api(staff=409), pk="customer"),
    row("api/user/<int:pk>/traffic", "get", api(customer=200, staff=200), pk="customer"),
    row("api/logs/system", "get", STAFF_API),
    row("api/notifications/send", "post", api(staff=400)),
    row("api/monitoring/alerts", "get", STAFF_API),
    row("api/monitoring/alerts/<int:pk>", "get", STAFF_API, pk="alert"),
    row("api/monitoring/alerts/<int:pk>/acknowledge", "post", api(staff=400), pk="alert"),
    row("api/monitoring/alerts/<int:pk>/expected", "post", api(staff=409), pk="alert"),
    row("api/monitoring/load_analysis", "get", STAFF_API),
    row("api/monitoring/channels", "get", api(admins=403, superadmin=200)),
    row("api/monitoring/channels", "post", api(admins=403, superadmin=400)),
    row("api/monitoring/channels/<int:pk>", "get", api(admins=403, superadmin=200), pk="channel"),
    row("api/monitoring/channels/<int:pk>", "patch", api(admins=403, superadmin=200), pk="channel"),
    row("api/monitoring/channels/<int:pk>/test", "post", api(admins=403, superadmin=200), pk="channel"),
    row("api/monitoring/settings", "get", api(admins=403, superadmin=200)),
    row("api/monitoring/settings", "patch", api(admins=403, superadmin=200)),
    row("api/billing/top_up", "post", api(admins=403, superadmin=400)),
    # A distributor's batch order is finance: the super admin's.
    row("api/orders/<order:number>/mark", "post", api(superadmin=400), number="batch"),
    row("api/finance/statistics", "get", api(admins=403, superadmin=200)),
    row("api/finance/commission/settle", "post", api(admins=403, superadmin=400)),
    # Prometheus scrapes with its own token: a member's API token is not it.
    row("metrics", "get", expect(401, 403), api=True),
    # --- The Django admin's own pages (the models' pages are in ADMIN_MODELS) ---------------------
    row("admin/", "get", STAFF_PAGE),
    row("admin/login/", "get", page(staff=LOGIN)),
    row("admin/logout/", "post", page(staff=SIGNED_OUT)),
    row("admin/password_change/", "get", STAFF_PAGE),
    row("admin/password_change/done/", "get", STAFF_PAGE),
    row("admin/autocomplete/", "get", page(staff=403)),
    row("admin/jsi18n/", "get", STAFF_PAGE),
    row("admin/r/<path:content_type_id>/<path:object_id>/", "get", page(),
        content_type_id="user_type", object_id="customer"),
    row("admin/^(?P<app_label>audit|accounts|auth|otp_totp|otp_static|notifications|distribution"
        "|billing|servers|containers|acl|rentals|operations|django_celery_beat|monitoring)/$", "get",
        STAFF_PAGE, app_label="accounts"),
    row("admin/(?P<url>.*)$", "get", page(), url="no/such/page/"),
    row("admin/notifications/outboundemail/test-email/", "get", page(admins=GONE, superadmin=200)),
    row("admin/distribution/activationcode/generate/", "get", STAFF_PAGE),
    row("admin/distribution/distributorprofile/new/", "get", STAFF_PAGE),
    row("admin/billing/wallet/top-up/", "get", page(admins=403, superadmin=200)),
    row("admin/accounts/user/<id>/password/", "get", STAFF_PAGE, id="customer"),
    # A super admin's account is not an admin's to see, let alone set its password.
    row("admin/accounts/user/<id>/password/", "get", page(superadmin=200), id="superadmin"),
]

# Each admin model's pages, for the staff: (admin, other admin, super admin) answers on its
# changelist, add, change, delete and history pages for one object (None: the model's first
# row). Everyone outside the staff gets 404 and anonymous visitors sign in, by the admin site.
VIEWS = ("changelist", "add", "change", "delete", "history")
READ_ONLY = dict(changelist=(200, 200, 200), add=(403, 403, 403), change=(200, 200, 200),
                 delete=(403, 403, 403), history=(200, 200, 200))
SUPERADMIN_ONLY = dict(changelist=(403, 403, 200), add=(403, 403, 200), change=(403, 403, 200),
                       delete=(403, 403, 200), history=(403, 403, 200))
SUPERADMIN_READS = dict(changelist=(403, 403, 200), add=(403, 403, 403), change=(403, 403, 200),
                        delete=(403, 403, 403), history=(403, 403, 200))


def admin_model(target=None, base=READ_ONLY, **views) -> tuple:
    return target, {**base, **views}


ADMIN_MODELS = {
    "django_celery_beat.periodictask": admin_model(base=SUPERADMIN_ONLY),
    "django_celery_beat.clockedschedule": admin_model(base=SUPERADMIN_ONLY),
    "django_celery_beat.crontabschedule": admin_model(base=SUPERADMIN_ONLY),
    "django_celery_beat.solarschedule": admin_model(base=SUPERADMIN_ONLY),
    "django_celery_beat.intervalschedule": admin_model(base=SUPERADMIN_ONLY),
    "audit.auditevent": admin_model("customer_event"),
    # The customer's token: nobody else's to see, not even a super admin's to change.
    "accounts.apitoken": admin_model("customer_token", base=SUPERADMIN_READS, delete=(403, 403, 200),
                                     history=(GONE, GONE, 200)),
    "auth.group": admin_model(base=SUPERADMIN_ONLY, delete=(403, 403, 403)),
    # Nobody adds a second factor for someone else: enrolment is the member's own.
    "otp_totp.totpdevice": admin_model("superadmin_totp", base=SUPERADMIN_ONLY, add=(403, 403, 403)),
    "otp_static.staticdevice": admin_model(base=SUPERADMIN_ONLY, add=(403, 403, 403)),
    # The super admin's password-reset mail: its link must show to nobody, anywhere.
    "notifications.outboundemail": admin_model("reset_mail"),
    "distribution.distributortier": admin_model(base=SUPERADMIN_ONLY, delete=(403, 403, 403)),
    # The distributor's profile and codes are their owning admin's, not the other admin's.
    "distribution.distributorprofile": admin_model(
        "profile", add=(200, 200, 200), change=(200, GONE, 200), history=(200, GONE, 200)),
    "distribution.activationcode": admin_model("code", change=(200, GONE, 200),
                                               history=(200, GONE, 200)),
    "distribution.referral": admin_model(base=SUPERADMIN_READS),
    "billing.plan": admin_model(add=(403, 403, 200)),
    # A distributor's batch order is finance.
    "billing.order": admin_model("batch_order", change=(GONE, GONE, 200), history=(GONE, GONE, 200)),
    "billing.coupon": admin_model(base=SUPERADMIN_ONLY),
    "billing.wallet": admin_model(base=SUPERADMIN_READS),
    "billing.commission": admin_model(base=SUPERADMIN_READS),
    "billing.commissionsettlement": admin_model(base=SUPERADMIN_READS),
    "servers.server": admin_model(add=(403, 403, 200)),
    "containers.derpinstance": admin_model(),
    "acl.device": admin_model(delete=(200, 200, 200)),
    "acl.aclconfig": admin_model(),
    "acl.acllog": admin_model(),
    "rentals.rental": admin_model(),
    "accounts.user": admin_model("user", add=(200, 200, 200)),
    "operations.operation": admin_model(),
    "operations.joblock": admin_model(base=SUPERADMIN_READS),
    "monitoring.alert": admin_model(),
    "monitoring.alertdelivery": admin_model(),
    "monitoring.alertchannel": admin_model(base=SUPERADMIN_ONLY),
    "monitoring.monitoringsettings": admin_model(base=SUPERADMIN_READS, changelist=(403, 403, ANY_302)),
}


def admin_rows() -> list[Row]:
    """The rows of every admin model's pages (and of the bare object URL, a redirect to its change
    page for the staff)."""
    rows = []
    for label, (target, views) in ADMIN_MODELS.items():
        app, model = label.split(".")
        base = f"admin/{app}/{model}/"
        patterns = {"changelist": base, "add": f"{base}add/",
                    **{view: f"{base}<path:object_id>/{view}/" for view in ("change", "delete", "history")}}
        for view in VIEWS:
            admin_answer, other_answer, super_answer = views[view]
            answers = page(admin=admin_answer, other_admin=other_answer, superadmin=super_answer)
            object_args = {"object_id": f"admin:{label}:{target or ''}"} if "<" in patterns[view] else {}
            rows.append(row(patterns[view], "get", answers, **object_args))
        rows.append(row(f"{base}<path:object_id>/", "get", page(staff=ANY_302),
                        object_id=f"admin:{label}:{target or ''}"))
    return rows


ALL_ROWS = ROUTES + admin_rows()
