"""The data set of a business at scale, seeded with bulk_create: the people the benchmarks act as,
then the tables grown to given sizes (call `grow` twice to measure at two sizes).

    world = people()            # a super admin, an admin, a distributor, the measured customer
    grow(world, FULL.scaled(0.1))
    grow(world, FULL)           # adds the rest; every row of the first call stays
    analyze()

Rows are spread over the customers in proportion (customer k of C owns rows n with
n × C // N == k), so after any call each customer holds its share: three relays, five codes
(half of them activated), two orders, two devices, a derpMap and a rental; the measured customer is
customer 0, the first one seeded. Two codes in five and one order in ten are the distributor's
(its portal lists 20,000 codes at full size). Needs Django set up and migrated.
"""

import ipaddress
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta

FIRST_IP = ipaddress.IPv4Address("198.18.0.1")  # 198.18.0.0/15: benchmarking addresses
# A real Ed25519 public key, so that each server's fingerprint is computed as in production.
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
BATCH = 2000
RELAYS_PER_CUSTOMER = 3


@dataclass(frozen=True)
class Sizes:
    customers: int
    servers: int
    codes: int
    audit_events: int
    orders: int
    devices: int
    operations: int

    @property
    def relays(self) -> int:
        return self.customers * RELAYS_PER_CUSTOMER

    def scaled(self, fraction: float) -> "Sizes":
        least = {"servers": RELAYS_PER_CUSTOMER}  # a customer's relays on distinct servers
        return replace(self, **{f.name: max(least.get(f.name, 1), round(getattr(self, f.name) * fraction))
                                for f in fields(self)})

    def describe(self) -> str:
        return (f"{self.customers:,} customers, {self.servers:,} servers, {self.relays:,} relays, "
                f"{self.codes:,} codes, {self.audit_events:,} audit events, {self.orders:,} orders, "
                f"{self.devices:,} devices, {self.operations:,} operations")


# The issue's data set (devices and operations besides: the customer pages and lists read them).
FULL = Sizes(customers=10_000, servers=500, codes=50_000, audit_events=100_000, orders=20_000,
             devices=20_000, operations=10_000)


@dataclass
class World:
    superadmin: object
    admin: object
    distributor: object
    customer: object  # the measured one: customer 0
    tokens: dict[str, str]  # persona → raw API token
    customer_ids: list[int] = field(default_factory=list)
    servers: list = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=dict)  # table → rows seeded so far
    next_port: dict[int, int] = field(default_factory=dict)  # server id → its last relay's port

    def persona(self, name: str):
        return getattr(self, name)


def people() -> World:
    """The personas (saved one by one: save() gives each role its flags and group), their API
    tokens, the distributor's profile."""
    from django.utils import timezone

    from apps.accounts.models import ApiToken, RentalState, Role, User
    from apps.distribution.models import DistributorProfile, DistributorTier

    made = {}
    for name, role in (("superadmin", Role.SUPERADMIN), ("admin", Role.ADMIN),
                       ("distributor", Role.DISTRIBUTOR), ("customer", Role.USER)):
        user = User(username=f"scale-{name}", email=f"scale-{name}@example.com", role=role,
                    email_verified=True, language="en")
        if role == Role.USER:
            user.rental_state = RentalState.ACTIVE
            user.rental_expiry = timezone.now() + timedelta(days=30)
        user.set_unusable_password()
        user.save()
        made[name] = user
    DistributorProfile.objects.create(user=made["distributor"], owner=made["admin"],
                                      tier=DistributorTier.objects.order_by("rank").first())
    tokens = {name: ApiToken.issue(user)[1] for name, user in made.items()}
    return World(**made, tokens=tokens, customer_ids=[made["customer"].pk])


def _share(n: int, total: int, owners: list[int]) -> int:
    """The owner of row n of `total`: rows spread over the owners in proportion."""
    return owners[n * len(owners) // total] if total > len(owners) else owners[n % len(owners)]


def _rows(world: World, table: str, target: int) -> range:
    start = world.seeded.get(table, 0)
    world.seeded[table] = max(start, target)
    return range(start, target)


def grow(world: World, sizes: Sizes) -> None:
    """Add rows until each table holds `sizes` (the personas' own rows not counted)."""
    from django.db import transaction

    with transaction.atomic():
        _customers(world, sizes.customers)
        _servers(world, sizes.servers)
        _relays(world, sizes)
        _codes(world, sizes)
        _orders(world, sizes)
        _audit(world, sizes)
        _devices(world, sizes)
        _operations(world, sizes)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _when(n: int, total: int, *, days: int = 365):
    """Row n's time: the newest rows last, spread over the past `days`."""
    from django.utils import timezone

    return timezone.now() - timedelta(seconds=(total - n) * days * 86400 // max(total, 1))


def _customers(world: World, target: int) -> None:
    from django.utils import timezone

    from apps.accounts.models import RentalState, Role, User
    from apps.rentals.models import Rental

    numbers = _rows(world, "customers", target)
    expiry = timezone.now() + timedelta(days=30)
    new = User.objects.bulk_create([
        User(username=f"customer{n}", email=f"customer{n}@example.com", role=Role.USER,
             email_verified=True, rental_state=RentalState.ACTIVE, rental_expiry=expiry,
             password="!", created_at=_when(n, target))
        for n in numbers if n > 0], batch_size=BATCH)  # customer 0 is the measured one
    world.customer_ids.extend(user.pk for user in new)
    owners = [world.customer_ids[n] for n in numbers]
    Rental.objects.bulk_create([Rental(user_id=pk, period=1, period_started_at=timezone.now(),
                                       next_event_at=expiry) for pk in owners], batch_size=BATCH)


def _servers(world: World, target: int) -> None:
    from apps.servers.models import Server

    numbers = _rows(world, "servers", target)
    secret = Server()
    secret.set_ssh_secret("not a real key")  # encrypted once, the same ciphertext on every row
    world.servers.extend(Server.objects.bulk_create([
        Server(name=f"scale-{n}", public_ip=str(FIRST_IP + n), ssh_host=str(FIRST_IP + n),
               location=f"Region {n % 20}", region=f"r{n % 20}", ssh_host_key=HOST_KEY,
               ssh_secret_encrypted=secret.ssh_secret_encrypted, cert_fingerprint=f"{n:064x}",
               port_range_start=30000, port_range_end=30999, max_containers=200,
               monthly_quota_bytes=(n % 2) * 10**12, traffic_month_bytes=n * 10**6)
        for n in numbers], batch_size=BATCH))


def _relays(world: World, sizes: Sizes) -> None:
    """Customer k's relays on servers 3k, 3k+1, 3k+2 (mod the servers), each with a derpMap
    that lists them."""
    from django.utils import timezone

    from apps.acl import derpmap
    from apps.acl.models import AclConfig, DerpMapFeed
    from apps.containers.models import DerpInstance, InstanceStatus

    now = timezone.now()
    numbers = _rows(world, "relays", sizes.relays)
    servers = world.servers
    rows = []
    for n in numbers:
        server = servers[n % len(servers)]
        port = world.next_port[server.pk] = world.next_port.get(server.pk, 30000) + 1
        rows.append(DerpInstance(user_id=world.customer_ids[n // RELAYS_PER_CUSTOMER], server=server,
                                 port=port, status=InstanceStatus.RUNNING, container_name=f"derp-{n}",
                                 started_at=now, created_at=_when(n, sizes.relays)))
    relays = DerpInstance.objects.bulk_create(rows, batch_size=BATCH)
    by_user: dict[int, list] = {}
    for relay in relays:
        by_user.setdefault(relay.user_id, []).append(relay)
    configs = []
    for user_id, mine in by_user.items():
        ids = derpmap.region_ids([relay.server_id for relay in mine])
        regions = {str(ids[r.server_id]): {
            "RegionID": ids[r.server_id], "RegionCode": derpmap.region_code(r.server_id),
            "RegionName": r.server.location,
            "Nodes": [derpmap.node_for(r, ids[r.server_id], insecure_for_tests=False)]} for r in mine}
        configs.append(AclConfig(user_id=user_id, version=1,
                                 derp_map={"Regions": dict(sorted(regions.items()))}, issued_at=now,
                                 expires_at=now + timedelta(days=30), reason="renewed"))
    AclConfig.objects.bulk_create(configs, batch_size=BATCH)
    DerpMapFeed.objects.bulk_create([DerpMapFeed(user_id=pk) for pk in by_user], batch_size=BATCH)


def _codes(world: World, sizes: Sizes) -> None:
    """Two in five the distributor's, the rest the staff's; every other one activated."""
    from django.utils import timezone

    from apps.billing.models import Plan
    from apps.distribution import codes
    from apps.distribution.models import ActivationCode, CodeStatus

    plans = list(Plan.objects.order_by("pk"))
    numbers = _rows(world, "codes", sizes.codes)
    expires = timezone.now() + timedelta(days=90)
    rows = []
    for n in numbers:
        made = _when(n, sizes.codes)
        code = ActivationCode(code=codes.generate(), plan=plans[n % len(plans)], paid=True,
                              created_by=world.distributor if n % 5 < 2 else world.superadmin,
                              created_at=made, expires_at=expires)
        if n % 2 == 0:
            code.status, code.used_at = CodeStatus.USED, made
            code.user_id = _share(n, sizes.codes, world.customer_ids)
        rows.append(code)
    ActivationCode.objects.bulk_create(rows, batch_size=BATCH)


def _orders(world: World, sizes: Sizes) -> None:
    """One in ten a code batch of the distributor's, the rest the customers' purchases and
    renewals, all earned."""
    from apps.billing.models import Order, OrderKind, OrderStatus, Plan

    plans = list(Plan.objects.order_by("pk"))
    numbers = _rows(world, "orders", sizes.orders)
    rows = []
    for n in numbers:
        plan, made = plans[n % len(plans)], _when(n, sizes.orders)
        batch = n % 10 == 0
        quantity = 50 if batch else 1
        rows.append(Order(
            number=f"{made:%Y%m%d}-S{n:07X}", plan=plan, quantity=quantity,
            buyer_id=world.distributor.pk if batch else _share(n, sizes.orders, world.customer_ids),
            kind=OrderKind.CODE_BATCH if batch else (OrderKind.RENEWAL if n % 3 else OrderKind.PURCHASE),
            status=OrderStatus.COMPLETED if n % 4 else OrderStatus.RENEWED,
            list_price_fen=plan.price_fen * quantity, amount_fen=plan.price_fen * quantity,
            created_at=made, completed_at=made))
    Order.objects.bulk_create(rows, batch_size=BATCH)


AUDIT_ACTIONS = ("acl.issued", "acl.device_added", "code.activated", "server.checked",
                 "billing.purchased", "container.started", "user.login", "rental.renewed")


def _audit(world: World, sizes: Sizes) -> None:
    from apps.audit.models import AuditEvent

    numbers = _rows(world, "audit_events", sizes.audit_events)
    rows = []
    for n in numbers:
        customer, action = _share(n, sizes.audit_events, world.customer_ids), AUDIT_ACTIONS[n % 8]
        rows.append(AuditEvent(actor_id=customer, actor_label=f"customer-{customer}@example.com",
                               action=action, target_type="accounts.user", target_id=str(customer),
                               target_label=f"customer-{customer}", ip="203.0.113.9",
                               details={"n": n}, finance=action == "billing.purchased",
                               created_at=_when(n, sizes.audit_events)))
    AuditEvent.objects.bulk_create(rows, batch_size=BATCH)


def _devices(world: World, sizes: Sizes) -> None:
    from apps.acl.models import Device

    numbers = _rows(world, "devices", sizes.devices)
    Device.objects.bulk_create([
        Device(user_id=_share(n, sizes.devices, world.customer_ids), name=f"device-{n}",
               node_key=f"nodekey:{n:064x}", created_at=_when(n, sizes.devices))
        for n in numbers], batch_size=BATCH)


def _operations(world: World, sizes: Sizes) -> None:
    from apps.operations.models import Operation, OperationKind, OperationState

    numbers = _rows(world, "operations", sizes.operations)
    Operation.objects.bulk_create([
        Operation(kind=OperationKind.PROVISION, state=OperationState.DONE, progress=100,
                  customer_id=_share(n, sizes.operations, world.customer_ids),
                  target_label=f"customer{n}", created_at=_when(n, sizes.operations),
                  finished_at=_when(n, sizes.operations))
        for n in numbers], batch_size=BATCH)
