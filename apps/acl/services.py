"""Devices, derpMap versions, downloads, and the admission cache's invalidation."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.accounts import policy
from apps.accounts.models import RentalState, User
from apps.audit import services as audit
from derpmgr.errors import Conflict, NotFound, PermissionDenied, ServiceError

from . import admission, derpmap, renewal
from .models import (
    AclAccess,
    AclConfig,
    AclFormat,
    AclLog,
    DerpMapFeed,
    Device,
    InvalidNodeKey,
    new_feed_token,
    normalise_node_key,
)

ACL_VALIDITY = timedelta(days=32)
# The periodic job re-issues a derpMap this long before it expires.
REISSUE_BEFORE = timedelta(days=3)


def rental_active(user: User) -> bool:
    """An active account whose rental is active and not past its end."""
    return (user.is_active and user.rental_state == RentalState.ACTIVE
            and user.rental_expiry is not None and user.rental_expiry > timezone.now())


# --- Devices ---------------------------------------------------------------------------------

def max_devices_for(user: User) -> int:
    """The most devices any plan the user rents allows (codes activated, plans bought).

    One query over the few plans, each tested by an indexed semi-join on the user's codes and on
    their orders: never a join of the codes with the orders, which multiplies them."""
    from apps.billing.models import EARNED_STATUSES, Order, Plan
    from apps.distribution.models import ActivationCode

    activated = ActivationCode.objects.filter(user=user).values("plan_id")
    bought = Order.objects.filter(buyer=user, status__in=EARNED_STATUSES).values("plan_id")
    most = Plan.objects.filter(Q(pk__in=activated) | Q(pk__in=bought)) \
        .aggregate(most=Max("max_devices"))["most"]
    return most or settings.DEFAULT_MAX_DEVICES


_KEY_HINT = gettext_lazy("Find it with `tailscale status --json` (Self.PublicKey) or on the "
                         "machine's page in the Tailscale admin console.")


def _node_key(raw) -> str:
    try:
        return normalise_node_key(raw)
    except InvalidNodeKey as exc:
        if exc.reason == "empty":
            problem = _("Enter the device's node key.")
        elif exc.reason == "other_key":
            problem = _("That is not a node key (it looks like a machine, disco or auth key; "
                        "never share auth keys). A node key starts with \"nodekey:\".")
        elif exc.reason == "characters":
            problem = _("A node key is \"nodekey:\" followed by 64 hexadecimal characters "
                        "(0-9, a-f); this one has other characters.")
        else:
            problem = _("A node key is \"nodekey:\" followed by 64 hexadecimal characters; this "
                        "one has %(n)d.") % {"n": exc.length}
        message = f"{problem} {_KEY_HINT}"
        raise ServiceError(message, code="invalid_node_key", fields={"node_key": [message]}) from exc


def _name(raw) -> str:
    name = raw.strip() if isinstance(raw, str) else ""
    if not 1 <= len(name) <= 64:
        message = _("Give the device a name of 1 to 64 characters.")
        raise ServiceError(message, code="invalid_name", fields={"name": [message]})
    return name


def _duplicate_name() -> Conflict:
    message = _("You already have a device with this name.")
    return Conflict(message, code="duplicate_name", fields={"name": [message]})


def add_device(*, user: User, name: str, node_key: str, ip: str | None = None) -> Device:
    """Register one of the customer's Tailscale devices, within their plan's device limit."""
    if not policy.can(user, policy.CUSTOMER):
        raise PermissionDenied(_("Only customer accounts register devices."), code="not_a_customer")
    key, name = _node_key(node_key), _name(name)
    # Read before the lock: a plan bought meanwhile only raises it, and the lock is held (on
    # SQLite: the database's write lock) for the count and the insert alone.
    limit = max_devices_for(user)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one add at a time per user
        if Device.objects.filter(user=user).count() >= limit:
            raise Conflict(ngettext("Your plan allows %(n)d device; remove it before adding another.",
                                    "Your plan allows %(n)d devices; remove one before adding another.",
                                    limit) % {"n": limit}, code="too_many_devices")
        if Device.objects.filter(node_key=key).exists():
            message = _("This node key is already registered.")
            raise Conflict(message, code="duplicate_node_key", fields={"node_key": [message]})
        if Device.objects.filter(user=user, name=name).exists():
            raise _duplicate_name()
        try:
            with transaction.atomic():
                device = Device.objects.create(user=user, name=name, node_key=key)
        except IntegrityError as exc:  # another account registered the key meanwhile
            message = _("This node key is already registered.")
            raise Conflict(message, code="duplicate_node_key",
                           fields={"node_key": [message]}) from exc
        audit.record(actor=user, action="acl.device_added", target=device, ip=ip,
                     details={"name": name, "node_key_prefix": key[:16]})
        admission.invalidate_user_on_commit(user.pk)
    return device


def check_new_name(device: Device, name) -> str:
    """The cleaned new name of a device, or a ServiceError (forms call it too)."""
    name = _name(name)
    if Device.objects.filter(user_id=device.user_id, name=name).exclude(pk=device.pk).exists():
        raise _duplicate_name()
    return name


def _require_device_access(actor: User, device: Device, action: str) -> None:
    """One's own device, or staff holding `action` for a device they can see."""
    if device.user_id != actor.pk:
        policy.require(actor, action, device)


def rename_device(*, actor: User, device: Device, name: str, ip: str | None = None) -> Device:
    _require_device_access(actor, device, "acl.change_device")
    with transaction.atomic():
        name = check_new_name(device, name)
        old = Device.objects.filter(pk=device.pk).values_list("name", flat=True).first()
        Device.objects.filter(pk=device.pk).update(name=name)
        device.name = name
        audit.record(actor=actor, action="acl.device_renamed", target=device, ip=ip,
                     details={"from": old, "to": name})
    return device


def remove_device(*, actor: User, device: Device, ip: str | None = None) -> None:
    """The device can no longer connect through the user's relays (from the next connection)."""
    _require_device_access(actor, device, "acl.delete_device")
    with transaction.atomic():
        audit.record(actor=actor, action="acl.device_removed", target=device, ip=ip,
                     details={"name": device.name, "node_key_prefix": device.node_key[:16]})
        Device.objects.filter(pk=device.pk).delete()
        admission.invalidate_user_on_commit(device.user_id)


# --- derpMap versions ------------------------------------------------------------------------

def current_acl(user: User) -> AclConfig | None:
    return AclConfig.objects.filter(user=user).order_by("-version").first()


def _last_taken_map(user: User) -> dict | None:
    """The map of the newest version the user downloaded, fetched or was shown (None: never)."""
    version = AclLog.objects.filter(user=user).aggregate(v=Max("version"))["v"]
    if version is None:
        return None
    return AclConfig.objects.filter(user=user, version=version).values_list(
        "derp_map", flat=True).first()


def _next_version(user: User) -> int:
    """Version numbers never repeat, even after destroy_all (the download log names them)."""
    issued = AclConfig.objects.filter(user=user).aggregate(v=Max("version"))["v"] or 0
    logged = AclLog.objects.filter(user=user).aggregate(v=Max("version"))["v"] or 0
    return max(issued, logged) + 1


def issue_version(*, user: User, reason: str, actor=None, notify: bool = True,
                  ip: str | None = None) -> AclConfig:
    """A new version of the user's derpMap, valid ACL_VALIDITY from now.

    The user is e-mailed when they must paste it again: the map differs from the version before
    and from the one they last took (a user who never took one has nothing to replace)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one version at a time
        previous = current_acl(user)
        derp_map = derpmap.build(user, previous=previous.derp_map if previous else None,
                                 insecure_for_tests=settings.DERP_INSECURE_FOR_TESTS)
        now = timezone.now()
        config = AclConfig.objects.create(user=user, version=_next_version(user), derp_map=derp_map,
                                          issued_at=now, expires_at=now + ACL_VALIDITY,
                                          reason=reason)
        DerpMapFeed.objects.get_or_create(user=user)
        changed = previous is None or previous.derp_map != derp_map
        audit.record(actor=actor, action="acl.issued", target=user, ip=ip,
                     details={"version": config.version, "reason": reason, "changed": changed,
                              "regions": sorted(derp_map["Regions"])})
        if notify and changed and derp_map["Regions"]:
            taken = _last_taken_map(user)
            if taken is not None and taken != derp_map:
                from apps.notifications import services as notifications

                notifications.send_to_user(user=user, template="acl-changed",
                                           context={"version": config.version})
        admission.invalidate_user_on_commit(user.pk)
    return config


def instances_changed(*, user: User) -> None:
    """Called by the relay services when a user's relays changed: publish a new version. Not
    while the rental is suspended (nobody may take a derpMap then, and the renewal that lifts
    it starts the relays, which issues one), nor once deregistered or deleted (the derpMaps
    were destroyed: the relays going must neither bring a version back nor mail it)."""
    if user.deleted_at is not None or user.rental_state in (RentalState.SUSPENDED,
                                                            RentalState.DEREGISTERED):
        return
    issue_version(user=user, reason="relays_changed")


def reissue(*, actor: User, user: User, server_ids=(), ip: str | None = None) -> AclConfig:
    """POST /api/acl/generate: an admin for any user they may see, anyone else for themselves.
    `server_ids`, when given, are servers the caller expects in the map: the map always lists
    the user's relays, so a server without one is refused rather than silently left out."""
    if actor.pk != user.pk:
        if not User.objects.visible_to(actor).filter(pk=user.pk).exists():
            raise NotFound(_("No such user."), fields={"user_id": [_("Unknown user.")]})
        policy.require(actor, "acl.add_aclconfig")  # a new version for someone else: staff
    if not rental_active(user):
        raise Conflict(_("The rental is not active, so there is no derpMap to issue."),
                       code="rental_inactive")
    if server_ids:
        mapped = set(derpmap.mapped_instances(user).values_list("server_id", flat=True))
        unmapped = sorted(set(server_ids) - mapped)
        if unmapped:
            message = _("The derpMap lists the user's relays, and there is none on server %(ids)s.") \
                % {"ids": ", ".join(map(str, unmapped))}
            raise ServiceError(message, code="servers_not_mapped", fields={"server_ids": [message]})
    return issue_version(user=user, reason="requested", actor=actor, ip=ip)


def reissue_expiring(*, within: timedelta = REISSUE_BEFORE) -> int:
    """The periodic job: active rentals whose derpMap expires within `within` (or that never had
    one) get a new version, a chunk of users at a time (renewal.py). Running it twice, or two
    runs at once, re-issues nothing the second time."""
    return renewal.reissue_expiring(within=within, validity=ACL_VALIDITY)


def destroy_all(*, user: User, actor=None, ip: str | None = None) -> int:
    """Every version and the derpMap URL of a user (deregistration, account deletion). The
    download log stays, as a record."""
    with transaction.atomic():
        deleted, _detail = AclConfig.objects.filter(user=user).delete()
        DerpMapFeed.objects.filter(user=user).delete()
        audit.record(actor=actor, action="acl.destroyed", target=user, ip=ip,
                     details={"versions": deleted})
        admission.invalidate_user_on_commit(user.pk)
    return deleted


# --- Downloads -------------------------------------------------------------------------------

class DownloadRefused(ServiceError):
    status = 403
    code = "download_refused"


def has_paid(user: User) -> bool:
    """A paid activation code, or a plan bought and paid for."""
    from apps.billing.models import EARNED_STATUSES, Order, OrderKind

    return (user.codes_activated.filter(paid=True).exists()
            or Order.objects.filter(buyer=user, kind__in=(OrderKind.PURCHASE, OrderKind.RENEWAL),
                                    status__in=EARNED_STATUSES).exists())


def check_download(user: User) -> AclConfig:
    """The version the user may take now, or DownloadRefused saying what is missing. An expired
    (or never issued) version of an entitled user is issued on the spot."""
    if user.rental_state == RentalState.SUSPENDED:
        from apps.rentals import services as rentals

        message = rentals.suspension_message(user)
        raise DownloadRefused(message, code="rental_suspended", fields={"rental": [message]})
    no_rental, unpaid = not rental_active(user), not has_paid(user)
    rental_message = _("an active rental (activate a code or renew your plan)")
    payment_message = _("a paid activation code (your distributor marks the code as paid once "
                        "you have paid, or buy a plan from your balance)")
    if no_rental or unpaid:
        missing = [m for flag, m in ((no_rental, rental_message), (unpaid, payment_message)) if flag]
        fields = {**({"rental": [rental_message]} if no_rental else {}),
                  **({"payment": [payment_message]} if unpaid else {})}
        code = ("rental_inactive_and_unpaid" if no_rental and unpaid
                else "rental_inactive" if no_rental else "code_unpaid")
        raise DownloadRefused(_("Downloading the derpMap needs %(what)s.")
                              % {"what": _(" and ").join(missing)}, code=code, fields=fields)
    acl = current_acl(user)
    if acl is None or not acl.is_valid:
        acl = issue_version(user=user, reason="renewed", notify=False)
    if not acl.derp_map["Regions"]:
        raise DownloadRefused(_("Your relays are still being set up; the derpMap is ready once "
                                "one of them runs."), code="no_relays", status=409)
    return acl


def take(*, user: User, access: str, ip: str | None) -> AclConfig:
    """Check, then log one download, display or fetch; the version taken."""
    acl = check_download(user)
    ip = admission.ip_or_none(ip)
    AclLog.objects.create(user=user, version=acl.version, format=access, ip=ip, location=locate(ip))
    return acl


def render(acl: AclConfig, fmt: str, *, omit_default_regions: bool = True) -> tuple[str, str, str]:
    """(body, content type, file name) of one format."""
    _check_format(fmt)
    if fmt == AclFormat.TAILSCALE:
        return (derpmap.as_tailscale_policy(acl.derp_map, omit_default_regions=omit_default_regions),
                "text/plain; charset=utf-8", f"derpmap-v{acl.version}.hujson")
    if fmt == AclFormat.HEADSCALE:
        return (derpmap.as_headscale_yaml(acl.derp_map), "application/yaml; charset=utf-8",
                f"derp-v{acl.version}.yaml")
    return (derpmap.as_json(acl.derp_map, omit_default_regions=omit_default_regions),
            "application/json", f"derpmap-v{acl.version}.json")


def _check_format(fmt) -> None:
    if fmt not in AclFormat.values:
        message = _("Unknown format; use tailscale, headscale or json.")
        raise ServiceError(message, code="invalid_format", fields={"format": [message]})


def download(*, user: User, fmt: str, ip: str | None,
             omit_default_regions: bool = True) -> tuple[str, str, str]:
    """Check, render and log one download."""
    _check_format(fmt)  # before anything is logged
    acl = take(user=user, access=fmt, ip=ip)
    return render(acl, fmt, omit_default_regions=omit_default_regions)


def feed(token: str, *, ip: str | None) -> str:
    """The stable URL's body: the current derpMap as JSON (Headscale's derp.urls follows it)."""
    feed_row = DerpMapFeed.objects.select_related("user").filter(token=token).first()
    if feed_row is None:
        raise NotFound(_("No such derpMap."))
    acl = take(user=feed_row.user, access=AclAccess.FEED, ip=ip)
    return derpmap.as_json(acl.derp_map)


def feed_url(user: User) -> str:
    feed_row, _created = DerpMapFeed.objects.get_or_create(user=user)
    return settings.PANEL_URL + reverse("acl:feed", args=[feed_row.token])


def rotate_feed(*, user: User, ip: str | None = None) -> str:
    """A new secret for the user's derpMap URL (one leaked, say); the old URL stops working the
    moment this commits: the URL is looked up by its token on every fetch, nothing caches it.
    Returns the new URL (Headscale's derp.urls must be given it)."""
    with transaction.atomic():
        feed_row, _created = DerpMapFeed.objects.select_for_update().get_or_create(user=user)
        feed_row.token = new_feed_token()
        feed_row.save(update_fields=["token"])
        audit.record(actor=user, action="acl.feed_rotated", target=user, ip=ip)
    return settings.PANEL_URL + reverse("acl:feed", args=[feed_row.token])


def locate(ip: str | None) -> str:
    """Where an address is, from the offline IP database when one is configured."""
    if not ip:
        return ""
    from apps.servers import geoip

    return geoip.locate(ip)
