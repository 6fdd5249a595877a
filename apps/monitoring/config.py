"""Where alerts go and when they fire: the super admins' verbs for alert channels and the
monitoring thresholds. Each checks its input whole (a refusal names the fields; nothing is
saved), saves and writes its audit event in one transaction. A webhook's secret is generated when
none is given and handed back once, to the caller who made it; the audit log only says that it
changed."""

import secrets as random_tokens

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.audit import services as audit
from derpmgr.errors import ServiceError

from . import delivery, targets
from .models import AlertChannel, ChannelKind, MonitoringSettings, Severity

MAX_RECIPIENTS = 50
SECRET_LENGTH = (16, 200)
CHANNEL_FIELDS = ("name", "kind", "enabled", "min_severity", "recipients", "url", "secret")
SETTINGS_NUMBERS = ("failures_before_unhealthy", "successes_before_healthy",
                    "relay_failures_before_alert", "latency_warning_ms", "disk_warning_percent",
                    "memory_warning_percent", "failover_after_minutes",
                    "failover_cooldown_minutes", "repeat_notification_minutes")
SETTINGS_FIELDS = (*SETTINGS_NUMBERS, "probe_targets", "speed_test_url")


def _refuse(errors: dict) -> ServiceError:
    fields = {name: [str(m) for m in messages] for name, messages in errors.items()}
    return ServiceError(next(iter(fields.values()))[0], fields=fields)


def new_secret() -> str:
    return random_tokens.token_urlsafe(32)


# --- Checking a channel ----------------------------------------------------------------------

def _text(value, name: str, errors: dict, *, max_length: int, required=False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = [_("This field is required.")]
    elif len(value) > max_length:
        errors[name] = [_("At most %(max)d characters.") % {"max": max_length}]
    return value


def parse_recipients(value) -> list[str]:
    """E-mail addresses from a list or from text (one per line, or separated by commas)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    if not isinstance(value, list | tuple) or not all(isinstance(a, str) for a in value):
        raise ValidationError(_("Give the recipients as a list of e-mail addresses."))
    addresses = []
    for address in (a.strip() for a in value):
        if not address:
            continue
        validate_email(address)  # its own message names the problem
        if address.lower() not in (a.lower() for a in addresses):
            addresses.append(address)
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError(_("At most %(max)d recipients.") % {"max": MAX_RECIPIENTS})
    return addresses


def check_channel(data: dict, *, current: AlertChannel | None) -> dict:
    """The channel's fields to save from `data` (on an update, only the keys given), or a
    ServiceError naming each wrong field."""
    errors: dict = {}
    unknown = sorted(set(data) - set(CHANNEL_FIELDS))
    if unknown:
        raise _refuse({key: [_("Unknown field.")] for key in unknown})
    clean = {}
    if "name" in data or current is None:
        clean["name"] = _text(data.get("name"), "name", errors, max_length=64, required=True)
        if "name" not in errors and _name_taken(clean["name"], current.pk if current else None):
            errors["name"] = [_("A channel with this name exists already.")]
    kind = data.get("kind", current.kind if current else None)
    if current is not None and "kind" in data and kind != current.kind:
        errors["kind"] = [_("A channel's kind cannot change: add another channel.")]
    elif kind not in ChannelKind.values:
        errors["kind"] = [_("Choose e-mail or webhook.")]
    clean["kind"] = kind
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors["enabled"] = [_("Must be true or false.")]
        clean["enabled"] = data["enabled"]
    if "min_severity" in data:
        if data["min_severity"] not in Severity.values:
            errors["min_severity"] = [_("Choose info, warning or critical.")]
        clean["min_severity"] = data["min_severity"]
    if "recipients" in data:
        try:
            clean["recipients"] = "\n".join(parse_recipients(data["recipients"]))
        except ValidationError as error:
            errors["recipients"] = error.messages
    if kind == ChannelKind.WEBHOOK and ("url" in data or current is None):
        try:
            clean["url"] = targets.check_webhook_url(data.get("url"))
        except ServiceError as error:
            errors.update(error.fields or {"url": [str(error.message)]})
    elif kind == ChannelKind.EMAIL and data.get("url"):
        errors["url"] = [_("An e-mail channel has no URL.")]
    if data.get("secret") not in (None, ""):
        secret = data["secret"]
        if kind != ChannelKind.WEBHOOK:
            errors["secret"] = [_("Only a webhook has a secret.")]
        elif not isinstance(secret, str) or not SECRET_LENGTH[0] <= len(secret) <= SECRET_LENGTH[1]:
            errors["secret"] = [_("A secret has %(min)d to %(max)d characters.")
                                % {"min": SECRET_LENGTH[0], "max": SECRET_LENGTH[1]}]
        clean["secret"] = secret
    if errors:
        raise _refuse(errors)
    return clean


def _name_taken(name: str, exclude: int | None) -> bool:
    return AlertChannel.objects.filter(name__iexact=name).exclude(pk=exclude).exists()


def _summary(channel: AlertChannel) -> dict:
    """What the audit log keeps about a channel (never its secret)."""
    return {"name": channel.name, "kind": channel.kind, "enabled": channel.enabled,
            "min_severity": channel.min_severity, "recipients": channel.recipients,
            "url": channel.url}


def _save(channel: AlertChannel) -> None:
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise _refuse({"name": [_("A channel with this name exists already.")]}) from None


# --- Channel verbs ---------------------------------------------------------------------------

def create_channel(*, actor, data: dict, ip: str | None = None) -> tuple[AlertChannel, str]:
    """A new channel, and the webhook secret generated for it (shown to the creator this once;
    "" when the caller gave one, or for e-mail)."""
    clean = check_channel(data, current=None)
    given = clean.pop("secret", "")
    generated = new_secret() if clean["kind"] == ChannelKind.WEBHOOK and not given else ""
    secret = given or generated
    channel = AlertChannel(**clean)
    channel.set_secret(secret)
    with transaction.atomic():
        _save(channel)
        audit.record(actor=actor, action="monitoring.channel_created", target=channel, ip=ip,
                     details={**_summary(channel), "signing_set": bool(secret)})
    return channel, generated


def update_channel(*, actor, channel: AlertChannel, data: dict, regenerate_secret: bool = False,
                   ip: str | None = None) -> tuple[AlertChannel, str]:
    """Change the given fields; the new secret if one was generated (else "")."""
    clean = check_channel(data, current=channel)
    given = clean.pop("secret", "")
    wanted = regenerate_secret and channel.kind == ChannelKind.WEBHOOK and not given
    generated = new_secret() if wanted else ""
    secret = given or generated
    with transaction.atomic():
        current = AlertChannel.objects.select_for_update().get(pk=channel.pk)
        before = _summary(current)
        for name, value in clean.items():
            setattr(current, name, value)
        if secret:
            current.set_secret(secret)
        _save(current)
        after = _summary(current)
        changed = {key: after[key] for key in after if after[key] != before[key]}
        audit.record(actor=actor, action="monitoring.channel_changed", target=current, ip=ip,
                     details={"name": current.name, "changed": changed,
                              "signing_changed": bool(secret)})
    return current, generated


def delete_channel(*, actor, channel: AlertChannel, ip: str | None = None) -> None:
    """Remove the channel and its delivery history (the alerts stay)."""
    with transaction.atomic():
        current = AlertChannel.objects.select_for_update().filter(pk=channel.pk).first()
        if current is None:
            return
        audit.record(actor=actor, action="monitoring.channel_deleted", target=current, ip=ip,
                     details=_summary(current))
        current.delete()


def test_channel(*, actor, channel: AlertChannel, ip: str | None = None) -> delivery.TestResult:
    """Send a test notification through the channel now (a webhook waits for the answer)."""
    webhook = channel.kind == ChannelKind.WEBHOOK
    # A webhook is posted outside the transaction (a slow receiver must not hold the database);
    # e-mail rows are queued with the audit event.
    result = delivery.send_test(channel) if webhook else None
    with transaction.atomic():
        result = result or delivery.send_test(channel)
        audit.record(actor=actor, action="monitoring.channel_tested", target=channel, ip=ip,
                     details={"name": channel.name, "ok": result.ok,
                              "response_status": result.response_status,
                              "error": result.error[:500]})
    return result


test_channel.__test__ = False  # a service verb, not a pytest test


# --- Thresholds ------------------------------------------------------------------------------

def check_settings(changes: dict) -> dict:
    errors: dict = {}
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise _refuse({key: [_("Unknown field.")] for key in unknown})
    clean = {}
    for name in SETTINGS_NUMBERS:
        if name not in changes:
            continue
        value = changes[name]
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = [_("Enter a whole number.")]
            continue
        try:
            MonitoringSettings._meta.get_field(name).run_validators(value)
        except ValidationError as error:
            errors[name] = error.messages
            continue
        clean[name] = value
    for name, check in (("probe_targets", targets.check_probe_targets),
                        ("speed_test_url", targets.check_speed_test_url)):
        if name in changes:
            try:
                clean[name] = check(changes[name])
            except ServiceError as error:
                errors[name] = error.fields.get(name) or [str(error.message)]
    if errors:
        raise _refuse(errors)
    return clean


def update_settings(*, actor, changes: dict, ip: str | None = None) -> MonitoringSettings:
    """Change the given thresholds and targets (each checked against its range)."""
    clean = check_settings(changes)
    with transaction.atomic():
        MonitoringSettings.current()
        current = MonitoringSettings.objects.select_for_update().get(pk=1)
        changed = {name: {"from": getattr(current, name), "to": value}
                   for name, value in clean.items() if getattr(current, name) != value}
        for name, value in clean.items():
            setattr(current, name, value)
        current.save()
        audit.record(actor=actor, action="monitoring.settings_changed", target=current, ip=ip,
                     details={"changed": changed})
    return current
