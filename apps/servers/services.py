"""Adding, re-pinning and deleting servers. Remote work happens before the row is saved, and
what was put on the server is taken back if a later step fails: nothing half-made stays."""

import dataclasses
import logging

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.audit import services as audit
from derpmgr.errors import Conflict, ServiceError

from . import addresses, certs, drivers, ssh_errors
from .models import Server, ServerStatus, SshAuth

logger = logging.getLogger(__name__)


class ServerUnreachable(ServiceError):
    status = 502
    code = "server_unreachable"


def _engine():
    from apps.containers.engine import get_engine

    return get_engine()


def _explained(error: drivers.RemoteError, server: Server) -> str:
    """An SSH failure in plain words (apps.servers.ssh_errors); others keep their own text."""
    return (ssh_errors.explain(error, host=server.ssh_host, port=server.ssh_port)
            or _("Could not set the server up: %(why)s") % {"why": error})


def _remote_refusal(error: drivers.RemoteError, server: Server) -> ServiceError:
    message = _explained(error, server)
    if isinstance(error, drivers.HostKeyMismatch):
        return ServiceError(message, code=error.code, status=409)
    if error.code in ("auth_failed", "bad_key"):
        return ServiceError(message, code=error.code, status=400)
    return ServerUnreachable(message)


def _plainly(error: drivers.RemoteError, server: Server) -> drivers.RemoteError:
    """The same transient failure (the operation tries again), said in plain words."""
    return drivers.RemoteError(_explained(error, server), transient=error.transient,
                               code=error.code)


@dataclasses.dataclass
class NewServer:
    name: str
    public_ip: str
    ssh_secret: str
    ssh_auth: str = SshAuth.KEY
    ssh_host: str = ""
    ssh_port: int = 22
    ssh_user: str = "root"
    aliyun_account: str = ""
    domain: str = ""
    location: str = ""
    region: str = ""
    port_range_start: int = 30000
    port_range_end: int = 30999
    max_containers: int = 100
    monthly_quota_bytes: int = 0
    quota_reset_day: int = 1
    traffic_interface: str = ""
    derp_image: str = ""
    expected_host_key_fingerprint: str = ""
    cert_pem: str = ""
    key_pem: str = ""


def check_limits(*, public_ip: str, ssh_host: str, ssh_port: int, port_range_start: int,
                 port_range_end: int, max_containers: int) -> None:
    """The relay port range and limit a server may have (on add and on edit); forms call it
    too, to show the same refusal on the right field."""
    fields = {}
    if port_range_start > port_range_end:
        fields["port_range_end"] = [_("The last port must not be below the first.")]
    same_host = (ssh_host or public_ip) == public_ip
    if same_host and port_range_start <= ssh_port <= port_range_end:
        fields["port_range_start"] = [_("The relay ports overlap the SSH port.")]
    if max_containers < 1:
        fields["max_containers"] = [_("At least one relay.")]
    if fields:
        raise ServiceError(next(iter(fields.values()))[0], code="invalid", fields=fields)


# The model's rule for Server.traffic_interface, anchored at the very end (no trailing newline).
interface_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}\Z")

# No provider sells more in a month; a bigger figure is a typo (bytes typed as GB, say).
MAX_QUOTA_GB = 10_000_000
MAX_QUOTA_BYTES = MAX_QUOTA_GB * 1024**3
QUOTA_REFUSAL = gettext_lazy("The monthly quota must be a whole number from 0 (no quota) to "
                             "10,000,000 GB.")
RESET_DAY_REFUSAL = gettext_lazy("The quota reset day must be a day of the month from 1 to 28.")
INTERFACE_REFUSAL = gettext_lazy("Enter a network interface name such as eth0: up to 15 letters, "
                                 "digits and . _ : @ -, or leave it empty for the default "
                                 "route's interface.")


def check_quota(*, monthly_quota_bytes, quota_reset_day, traffic_interface: str = "") -> None:
    """The monthly quota, its reset day and the measured interface a server may have (on add,
    on edit, from every edit path): a refusal names each wrong field."""
    fields = {}
    if type(monthly_quota_bytes) is not int or not 0 <= monthly_quota_bytes <= MAX_QUOTA_BYTES:
        fields["monthly_quota_bytes"] = [str(QUOTA_REFUSAL)]
    if type(quota_reset_day) is not int or not 1 <= quota_reset_day <= 28:
        fields["quota_reset_day"] = [str(RESET_DAY_REFUSAL)]
    try:
        if traffic_interface:
            interface_validator(traffic_interface)
    except (ValidationError, TypeError):
        fields["traffic_interface"] = [str(INTERFACE_REFUSAL)]
    if fields:
        raise ServiceError(next(iter(fields.values()))[0], code="invalid", fields=fields)


def _check_ranges(data: NewServer) -> None:
    check_limits(public_ip=data.public_ip, ssh_host=data.ssh_host, ssh_port=data.ssh_port,
                 port_range_start=data.port_range_start, port_range_end=data.port_range_end,
                 max_containers=data.max_containers)
    check_quota(monthly_quota_bytes=data.monthly_quota_bytes,
                quota_reset_day=data.quota_reset_day, traffic_interface=data.traffic_interface)


def _certificate_for(data: NewServer, hostname: str) -> tuple[bytes, bytes, str]:
    """(cert, key, fingerprint to pin or "") — the operator's for a domain, else self-signed."""
    if data.cert_pem or data.key_pem:
        try:
            certs.check_pair(data.cert_pem.encode(), data.key_pem.encode())
        except ValueError as exc:
            raise ServiceError(_("The certificate and key do not fit together: %(why)s")
                               % {"why": exc}, code="bad_certificate") from exc
        return data.cert_pem.encode(), data.key_pem.encode(), ""
    cert_pem, key_pem = certs.make_self_signed(hostname)
    return cert_pem, key_pem, certs.sha256_raw(cert_pem)


def _upload_certificate(server: Server, cert_pem: bytes, key_pem: bytes) -> None:
    from apps.containers.engine import cert_dir

    directory = cert_dir(server)
    drivers.put_file(server, f"{directory}/{server.hostname}.crt", cert_pem, mode=0o644)
    drivers.put_file(server, f"{directory}/{server.hostname}.key", key_pem, mode=0o600)


def register_server(*, data: NewServer) -> Server:
    """The part of adding a server that needs no connection: checks, the certificate, and the
    row (status "being set up", taking no relays). `set_up_server` does the remote part."""
    _check_ranges(data)
    addresses.allowed_addresses(data.public_ip, field="public_ip")
    if data.ssh_host and data.ssh_host != data.public_ip:
        addresses.allowed_addresses(data.ssh_host, field="ssh_host")
    if Server.objects.filter(name=data.name).exists():
        raise Conflict(_("A server with this name exists."), fields={"name": [_("Taken.")]})
    if Server.objects.filter(public_ip=data.public_ip).exists():
        raise Conflict(_("A server with this IP exists."), fields={"public_ip": [_("Taken.")]})
    server = Server(name=data.name, public_ip=data.public_ip, domain=data.domain,
                    aliyun_account=data.aliyun_account, location=data.location, region=data.region,
                    ssh_host=data.ssh_host or data.public_ip, ssh_port=data.ssh_port,
                    ssh_user=data.ssh_user, ssh_auth=data.ssh_auth,
                    port_range_start=data.port_range_start, port_range_end=data.port_range_end,
                    max_containers=data.max_containers, monthly_quota_bytes=data.monthly_quota_bytes,
                    quota_reset_day=data.quota_reset_day,
                    traffic_interface=data.traffic_interface, derp_image=data.derp_image,
                    status=ServerStatus.SETTING_UP)
    server.set_ssh_secret(data.ssh_secret)
    if server.ssh_auth == SshAuth.KEY:
        try:
            drivers.load_private_key(data.ssh_secret)
        except drivers.RemoteError as exc:
            raise ServiceError(_("The private key cannot be read: paste an unencrypted OpenSSH or "
                                 "PEM key."), code="bad_key",
                               fields={"ssh_secret": [_("Not a usable key.")]}) from exc
    cert_pem, key_pem, fingerprint = _certificate_for(data, server.hostname)
    server.cert_pem, server.cert_fingerprint = cert_pem.decode(), fingerprint
    server.set_cert_key_pem(key_pem.decode())
    try:
        with transaction.atomic():
            server.save()
    except IntegrityError:  # added a moment ago by someone else
        raise Conflict(_("A server with this name or IP exists."), code="conflict") from None
    return server


def set_up_server(*, actor, server: Server, expected_fingerprint: str = "",
                  ip: str | None = None) -> Server:
    """Connect, pin the host key (once: a retry keeps the key pinned first), check the
    container engine, upload the certificate; then the server takes relays. A transient
    failure goes up as RemoteError (the operation retries); others as a ServiceError."""
    try:
        if not server.ssh_host_key:
            host_key = drivers.fetch_host_key(server.ssh_host, server.ssh_port)
            seen = drivers.host_key_fingerprint(host_key)
            if expected_fingerprint and expected_fingerprint != seen:
                raise ServiceError(_("The server presented host key %(seen)s, not the expected "
                                     "%(want)s.") % {"seen": seen, "want": expected_fingerprint},
                                   code="host_key_mismatch", status=409)
            server.ssh_host_key = host_key
            server.save(update_fields=["ssh_host_key", "updated_at"])
        engine_version = _engine().check(server)
        _upload_certificate(server, server.cert_pem.encode(), server.cert_key_pem().encode())
    except drivers.RemoteError as error:
        if error.transient:
            raise _plainly(error, server) from error
        raise _remote_refusal(error, server) from error
    with transaction.atomic():
        if Server.objects.filter(pk=server.pk, status=ServerStatus.SETTING_UP).update(
                status=ServerStatus.HEALTHY, last_error=""):
            _capacity_may_have_appeared()
        audit.record(actor=actor, action="servers.added", target=server, ip=ip,
                     details={"host_key_fingerprint": drivers.host_key_fingerprint(
                         server.ssh_host_key), "engine": engine_version,
                         "cert_sha256_raw": server.cert_fingerprint})
    server.refresh_from_db()
    return server


def abandon_set_up(*, server_id: int, reason: str) -> None:
    """Adding the server failed for good: take back what was put on it and forget the row, so
    the operator can add it again with corrected details."""
    server = Server.objects.filter(pk=server_id, status=ServerStatus.SETTING_UP).first()
    if server is None:
        return
    with transaction.atomic():
        audit.record(actor=None, action="servers.add_failed", target=server,
                     details={"name": server.name, "public_ip": server.public_ip,
                              "error": reason[:500]})
        _clean_up_after_failed_add(server)
        Server.objects.filter(pk=server_id).delete()


def add_server(*, actor, data: NewServer, ip: str | None = None) -> Server:
    """Register and set up in one go (fixtures, commands): nothing stays when a step fails."""
    server = register_server(data=data)
    try:
        return set_up_server(actor=actor, server=server,
                             expected_fingerprint=data.expected_host_key_fingerprint, ip=ip)
    except drivers.RemoteError as error:
        abandon_set_up(server_id=server.pk, reason=str(error))
        raise _remote_refusal(error, server) from error
    except ServiceError as error:
        abandon_set_up(server_id=server.pk, reason=str(error.message))
        raise


def _clean_up_after_failed_add(server: Server) -> None:
    if not server.pk or not server.ssh_host_key:
        return
    from apps.containers.engine import cert_dir

    try:
        drivers.remove_path(server, cert_dir(server))
    except drivers.RemoteError:
        logger.warning("could not remove the certificate left on %s", server.ssh_host)
    drivers.forget_client(server)  # before the id goes: cached connections are keyed by it


def repin_host_key(*, actor, server: Server, expected_fingerprint: str = "",
                   ip: str | None = None) -> str:
    """An admin accepts the key the server presents now (after a reinstall, say)."""
    try:
        new_key = drivers.fetch_host_key(server.ssh_host, server.ssh_port)
    except drivers.RemoteError as error:
        raise _remote_refusal(error, server) from error
    seen = drivers.host_key_fingerprint(new_key)
    if expected_fingerprint and expected_fingerprint != seen:
        raise ServiceError(_("The server presented host key %(seen)s, not the expected %(want)s.")
                           % {"seen": seen, "want": expected_fingerprint},
                           code="host_key_mismatch", status=409)
    with transaction.atomic():
        old = drivers.host_key_fingerprint(server.ssh_host_key) if server.ssh_host_key else ""
        server.ssh_host_key = new_key
        server.save(update_fields=["ssh_host_key", "updated_at"])
        audit.record(actor=actor, action="servers.host_key_repinned", target=server, ip=ip,
                     details={"from": old, "to": seen})
    drivers.forget_client(server)
    return seen


def record_remote_failure(server: Server, error: drivers.RemoteError) -> None:
    """Keep the latest reason on the server; a changed host key is audited for the operators."""
    Server.objects.filter(pk=server.pk).update(last_error=str(error)[:2000])
    if isinstance(error, drivers.HostKeyMismatch):
        with transaction.atomic():
            audit.record(actor=None, action="servers.host_key_mismatch", target=server,
                         details={"error": str(error)})


def check_empty(server: Server) -> None:
    from apps.containers.models import DerpInstance

    live = DerpInstance.objects.live().filter(server=server).count()
    if live:
        raise Conflict(_("The server still runs %(n)d relay(s); drain it first.")
                       % {"n": live}, code="server_not_empty")


def delete_server(*, actor, server: Server, ip: str | None = None) -> None:
    """Reclaim an empty (or drained) server: its leftover containers and certificates go, then
    the row. Refused while any relay still lives there."""
    from apps.containers.engine import cert_dir
    from apps.containers.models import DerpInstance

    check_empty(server)
    engine = _engine()
    try:
        for container in engine.list_relays(server):
            engine.remove_by_name(server, container.name)
        drivers.remove_path(server, cert_dir(server))
    except drivers.RemoteError as error:
        if error.transient:
            raise  # the operation tries again
        raise _remote_refusal(error, server) from error
    drivers.forget_client(server)  # while it still has its id: cached connections are keyed by it
    with transaction.atomic():
        audit.record(actor=actor, action="servers.deleted", target=server, ip=ip,
                     details={"name": server.name, "public_ip": server.public_ip})
        DerpInstance.objects.filter(server=server).delete()
        server.delete()


def set_status(*, actor, server: Server, status: str, ip: str | None = None) -> Server:
    if status not in ServerStatus.values or status == ServerStatus.SETTING_UP:
        raise ServiceError(_("Unknown server status."), code="invalid_status")
    if server.status == ServerStatus.SETTING_UP:
        raise Conflict(_("The server is still being set up."), code="setting_up")
    with transaction.atomic():
        previous = server.status
        Server.objects.filter(pk=server.pk).update(status=status)
        server.status = status
        if status == ServerStatus.HEALTHY and previous != ServerStatus.HEALTHY:
            _capacity_may_have_appeared()
        audit.record(actor=actor, action="servers.status_changed", target=server, ip=ip,
                     details={"from": previous, "to": status})
    return server


# What an operator may change on a server after adding it. The address, SSH settings and domain
# are fixed: they were checked and pinned (and the certificate made) for these values.
EDITABLE_FIELDS = ("name", "aliyun_account", "location", "region", "port_range_start",
                   "port_range_end", "max_containers", "monthly_quota_bytes", "quota_reset_day",
                   "traffic_interface", "status", "derp_image")


def update_server(*, actor, server: Server, changes: dict, ip: str | None = None) -> Server:
    """Change the editable settings of a server; audited with each field's old and new value.
    Relays already placed keep their ports; the new range and limit apply to new placements."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError(_("These settings cannot be changed here: %(fields)s")
                           % {"fields": ", ".join(sorted(unknown))}, code="not_editable")
    if "status" in changes and changes["status"] not in ServerStatus.values:
        raise ServiceError(_("Unknown server status."), code="invalid_status",
                           fields={"status": [_("Unknown server status.")]})
    with transaction.atomic():
        current = Server.objects.select_for_update().get(pk=server.pk)
        before = {name: getattr(current, name) for name in changes}
        for name, value in changes.items():
            setattr(current, name, value)
        check_limits(public_ip=current.public_ip, ssh_host=current.ssh_host,
                     ssh_port=current.ssh_port, port_range_start=current.port_range_start,
                     port_range_end=current.port_range_end, max_containers=current.max_containers)
        check_quota(monthly_quota_bytes=current.monthly_quota_bytes,
                    quota_reset_day=current.quota_reset_day,
                    traffic_interface=current.traffic_interface)
        changed = {name: [before[name], value] for name, value in changes.items()
                   if before[name] != value}
        if changed:
            if "name" in changed and Server.objects.exclude(pk=current.pk).filter(
                    name=current.name).exists():
                raise Conflict(_("A server with this name exists."),
                               fields={"name": [_("Taken.")]})
            current.save(update_fields=[*changed, "updated_at"])
            if _adds_room(changed):
                _capacity_may_have_appeared()
            audit.record(actor=actor, action="servers.updated", target=current, ip=ip,
                         details={"changes": changed})
            if "monthly_quota_bytes" in changed:
                _quota_changed(current)
    return current


def _adds_room(changed: dict) -> bool:
    """Whether a change lets the server take more relays than before."""
    def grew(name):
        old, new = changed.get(name, (0, 0))
        return new > old
    status = changed.get("status")
    return bool((status and status[1] == ServerStatus.HEALTHY) or grew("max_containers")
                or grew("port_range_end") or "monthly_quota_bytes" in changed)


def _quota_changed(server: Server) -> None:
    """A raised (or removed) quota gives an over-quota server back at once, a lowered one may
    take it out: the quota rules run now, as after a sampling round (apps.traffic sits above)."""
    from django.utils import timezone

    from apps.traffic import quota

    quota.after_sampling(server_ids=[server.pk], now=timezone.now())


def _capacity_may_have_appeared() -> None:
    """Customers short of relays are tried again once this commits (apps.rentals)."""
    from apps.rentals import services as rentals

    rentals.capacity_appeared()


def with_relay_counts(queryset):
    """Servers annotated with `relays`: their live relay instances. Counted per server listed (a
    subquery on the live-relay index), so a page of servers counts its own relays only, not the
    whole fleet's before it is cut to the page."""
    from apps.containers.models import LIVE_STATUSES, DerpInstance

    live = (DerpInstance.objects.filter(server=OuterRef("pk"), status__in=LIVE_STATUSES)
            .order_by().values("server").annotate(n=Count("pk")).values("n"))
    return queryset.annotate(relays=Coalesce(Subquery(live), 0))


def mark_health(*, server: Server, healthy: bool, reason: str = "") -> bool:
    """The health probe's verdict: healthy to unhealthy, or back. Any other status (maintenance,
    draining, over quota, being set up) is an operator's or the quota's and stays. Returns
    whether the status changed (a conditional update: two probe runs at once change it once)."""
    source, status = ((ServerStatus.UNHEALTHY, ServerStatus.HEALTHY) if healthy
                      else (ServerStatus.HEALTHY, ServerStatus.UNHEALTHY))
    with transaction.atomic():
        if not Server.objects.filter(pk=server.pk, status=source).update(status=status):
            return False
        server.status = status
        audit.record(actor=None, action="servers.health_changed", target=server,
                     details={"from": source, "to": status, "reason": reason[:500]})
        if healthy:
            _capacity_may_have_appeared()
    return True


def mark_over_quota(*, server: Server, details: dict) -> bool:
    """The server used up its monthly traffic: healthy or unhealthy becomes over quota. An
    operator's status (maintenance, draining) and a set-up stay. Returns whether the status
    changed (a conditional update: two sampling rounds at once change it once)."""
    with transaction.atomic():
        if not Server.objects.filter(pk=server.pk, status__in=(
                ServerStatus.HEALTHY, ServerStatus.UNHEALTHY)).update(status=ServerStatus.OVER_QUOTA):
            return False
        server.status = ServerStatus.OVER_QUOTA
        audit.record(actor=None, action="servers.over_quota", target=server, details=details)
    return True


def clear_over_quota(*, server: Server, details: dict) -> bool:
    """The quota month reset (or the quota was raised): an over-quota server is healthy again
    (the health probe says otherwise if it is not). Conditional, like mark_over_quota."""
    with transaction.atomic():
        if not Server.objects.filter(pk=server.pk, status=ServerStatus.OVER_QUOTA).update(
                status=ServerStatus.HEALTHY):
            return False
        server.status = ServerStatus.HEALTHY
        audit.record(actor=None, action="servers.quota_restored", target=server, details=details)
        _capacity_may_have_appeared()
    return True
