"""The world the authorization matrix walks: eight personas and the objects they own.

The "owned" objects belong to the customer, the distributor and the admin; the strangers (another
customer, a distributor under another admin, another admin) have lookalike objects of their own,
so that a route answering a stranger with the owner's object is an IDOR, not a missing row."""

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Role
from apps.acl import services as acl
from apps.acl.models import AclLog, DerpMapFeed
from apps.audit.models import AuditEvent
from apps.billing import services as billing
from apps.billing.models import Commission, CommissionSettlement, Coupon, Plan
from apps.containers.models import DerpInstance
from apps.distribution import services as distribution
from apps.distribution.models import DistributorProfile, DistributorTier
from apps.distribution.operations import CODES
from apps.monitoring import services as alerts
from apps.monitoring.models import (
    AlertChannel,
    AlertDelivery,
    AlertType,
    MonitoringSettings,
    Severity,
)
from apps.notifications.models import OutboundEmail
from apps.operations import exports
from apps.operations import services as operations
from apps.operations.models import JobLock, Operation
from apps.servers.models import Server
from tests.conftest import signed_in_client, token_client
from tests.factories import UserFactory
from tests.servers.conftest import CLIENT_KEY, HOST_KEY

PERSONAS = ("anonymous", "customer", "stranger", "distributor", "rival", "admin", "other_admin",
            "superadmin")
ROLES = {"customer": Role.USER, "stranger": Role.USER, "distributor": Role.DISTRIBUTOR,
         "rival": Role.DISTRIBUTOR, "admin": Role.ADMIN, "other_admin": Role.ADMIN,
         "superadmin": Role.SUPERADMIN}


@dataclass
class World:
    users: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)  # persona → browser session
    api: dict = field(default_factory=dict)  # persona → bearer-token client
    targets: dict = field(default_factory=dict)  # name → the value that fills a path parameter
    objects: dict = field(default_factory=dict)  # name → a model instance (admin object pages)
    markers: dict = field(default_factory=dict)  # text → the personas who may see it

    def forbidden_to(self, persona: str) -> list[str]:
        return [text for text, allowed in self.markers.items() if persona not in allowed]


def _markers(world, *, relay, device, feed, code, batch, top_up) -> dict:
    """Text of the owners' that only the personas named may ever receive, in any answer."""
    staff = {"admin", "other_admin", "superadmin"}
    u = world.users
    return {
        u["customer"].email: {"customer", "distributor", *staff},  # the distributor brought them in
        feed.token: {"customer"},
        relay.admission_token: set(),
        device.node_key: {"customer", *staff},
        top_up.number: {"customer", "superadmin"},  # a top-up is finance
        # A distributor's purchase is finance; their owning admin sees the codes and so the
        # batch they came in, not what was paid.
        batch.number: {"distributor", "admin", "superadmin"},
        code.code: {"distributor", "admin", "superadmin"},
    }


def _month() -> Plan:
    return Plan.objects.filter(duration_days=30, active=True).order_by("pk").first()


def _rent_through(customer, dealer, superadmin):
    """`customer` activates a paid code of `dealer`'s: a referral, a rental, relays. Returns the
    dealer's next batch, left pending (its order awaits the super admin, its codes unused)."""
    billing.top_up(actor=superadmin, user=dealer, amount_fen=1000_00, reference="bank 7")
    paid, _order = distribution.generate_codes(actor=dealer, plan=_month(), quantity=1)
    distribution.redeem(user=customer, raw_code=paid[0].display)
    return distribution.generate_codes(actor=dealer, plan=_month(), quantity=1, pay_with_balance=False)


def build(fake_engine) -> World:
    world = World()
    for persona, role in ROLES.items():
        world.users[persona] = UserFactory(username=f"mx-{persona}", role=role)
    u = world.users
    gold = DistributorTier.objects.get(slug="gold")
    DistributorProfile.objects.create(user=u["distributor"], tier=gold, owner=u["admin"])
    DistributorProfile.objects.create(user=u["rival"], tier=gold, owner=u["other_admin"])

    server = Server(name="mx-relay-host", public_ip="127.0.1.10", ssh_host="127.0.1.10", ssh_port=2222,
                    ssh_host_key=HOST_KEY)
    server.set_ssh_secret(CLIENT_KEY)
    server.save()
    unused, order = _rent_through(u["customer"], u["distributor"], u["superadmin"])
    _rent_through(u["stranger"], u["rival"], u["superadmin"])
    export = exports.request(actor=u["distributor"], name=CODES, params={})
    operations.run_due()
    top_up = billing.top_up(actor=u["superadmin"], user=u["customer"], amount_fen=100_00,
                            reference="bank 42")
    purchase = billing.purchase_plan(user=u["customer"], plan=_month())
    relay = DerpInstance.objects.filter(user=u["customer"]).order_by("pk").first()
    assert relay is not None, "the customer's rental placed no relay"
    device = acl.add_device(user=u["customer"], name="laptop", node_key=f"nodekey:{1:064x}")
    acl.add_device(user=u["stranger"], name="laptop", node_key=f"nodekey:{2:064x}")
    feed = DerpMapFeed.objects.get_or_create(user=u["customer"])[0]
    alert = alerts.open_alert(type=AlertType.DISK_HIGH, target=server, severity=Severity.WARNING,
                              message="disk of mx-relay-host 97 %")
    channel = AlertChannel.objects.create(name="mx-mail", kind="email", recipients="ops@example.com")
    operation = Operation.objects.filter(customer_id=u["customer"].pk).order_by("pk").first()
    assert operation is not None, "the customer's rental queued no operation"
    _one_row_of_every_admin_model(world, alert=alert, channel=channel, purchase=purchase)

    for persona, user in u.items():
        world.pages[persona] = signed_in_client(user)
        world.api[persona] = token_client(user)
    world.pages["anonymous"] = Client(headers={"accept-language": "en"})
    world.api["anonymous"] = APIClient(headers={"accept-language": "en"})

    world.targets.update(
        customer=u["customer"].pk, superadmin=u["superadmin"].pk, relay=relay.pk, server=server.pk,
        device=device.pk, operation=operation.pk, alert=alert.pk, channel=channel.pk, export=export.pk,
        batch=order.number, feed=feed.token,
        admission=relay.admission_token, fmt="json",
        totp=TOTPDevice.objects.filter(user=u["superadmin"]).get().pk,
        user_type=ContentType.objects.get_for_model(get_user_model()).pk,
    )
    world.objects.update(
        user=u["customer"], profile=u["distributor"].distributor_profile, code=unused[0],
        batch_order=order, customer_token=ApiToken.objects.filter(user=u["customer"]).get(),
        superadmin_totp=TOTPDevice.objects.filter(user=u["superadmin"]).get(),
        customer_event=AuditEvent.objects.filter(
            target_type="accounts.user", target_id=str(u["customer"].pk), finance=False,
        ).order_by("pk").first())
    world.markers = _markers(world, relay=relay, device=device, feed=feed, code=unused[0],
                             batch=order, top_up=top_up)
    world.objects["reset_mail"], link = _reset_mail_of(u["superadmin"], world.pages["anonymous"])
    if link:  # (the outbox may keep no copy of it at all)
        world.markers[link] = set()  # a link that grants access is nobody's to read again
    return world


def _reset_mail_of(user, visitor) -> tuple[OutboundEmail, str]:
    """The password-reset mail a visitor asked for `user`, and the link in it as the outbox keeps
    it ("" if it keeps none)."""
    visitor.post("/accounts/password/reset/", {"email": user.email})
    mail = OutboundEmail.objects.filter(to=user.email).order_by("-pk").first()
    assert mail is not None, "the password reset sent no mail"
    links = re.findall(r"/accounts/password/reset/[\w-]+/[\w-]+/", mail.body_text)
    return mail, links[0] if links else ""


def _one_row_of_every_admin_model(world, *, alert, channel, purchase) -> None:
    """So that each admin model's object pages open a real row."""
    u = world.users
    every_minute = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.MINUTES)[0]
    PeriodicTask.objects.create(name="mx-task", task="operations.sweep", interval=every_minute)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    CrontabSchedule.objects.get_or_create(minute="7")
    SolarSchedule.objects.create(event="sunrise", latitude=31.2, longitude=121.5)
    Coupon.objects.create(code="MATRIX", kind="percent", value=10)
    StaticDevice.objects.create(user=u["superadmin"], name="backup")
    settlement = CommissionSettlement.objects.create(distributor=u["distributor"], amount_fen=100,
                                                     method="credit", settled_by=u["superadmin"])
    Commission.objects.get_or_create(order=purchase, defaults={
        "distributor": u["distributor"], "percent": 5, "amount_fen": 100, "settlement": settlement})
    JobLock.objects.create(name="mx-job")
    AlertDelivery.objects.create(alert=alert, channel=channel, event="opened")
    MonitoringSettings.current()
    AclLog.objects.create(user=u["customer"], version=1, format="json")
