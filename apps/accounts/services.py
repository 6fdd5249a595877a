"""Accounts: registration, verification, sign-in, MFA, roles. Each verb is atomic and audited."""

import base64
import dataclasses

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit import services as audit
from apps.notifications import services as notifications
from derpmgr import qr
from derpmgr.errors import PermissionDenied, ServiceError

from . import policy
from .models import ApiToken, Role, User

VERIFY_SALT = "accounts.verify-email"


# --- Registration and verification ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Registration:
    """What a registration did. Callers answer the same whatever it holds: `user` (the new
    account, or None when the address or username was taken) is for tests and internal callers,
    never for the answer, which would tell a stranger whether an address has an account."""

    email: str
    user: User | None


def register(*, email: str, username: str, password: str, language: str,
             ip: str | None = None) -> Registration:
    """A new customer account, unverified until the link in the e-mail is followed.

    A taken address or username gets the same outcome as a new one, so registration cannot be
    used to find out who has an account: the address's owner is told by e-mail that someone
    tried to register with it (when the address is free but the username is not, the address
    is told to pick another name). Only a weak password is refused, and it is checked first,
    the same way for everyone.
    """
    email = User.objects.normalize_email(email.strip())
    candidate = User(email=email, username=username)
    try:
        password_validation.validate_password(password, candidate)
    except DjangoValidationError as exc:
        raise ServiceError(" ".join(exc.messages), code="weak_password",
                           fields={"password": exc.messages}) from exc
    user = None
    try:
        with transaction.atomic():
            owner = User.objects.filter(email__iexact=email).first()
            if owner is not None:
                _tell_owner_of_attempt(owner, ip=ip)
            elif User.objects.filter(username__iexact=username).exists():
                _tell_username_taken(email=email, username=username, language=language, ip=ip)
            else:
                user = User.objects.create_user(username=username, email=email,
                                                password=password, role=Role.USER,
                                                language=language)
                audit.record(actor=user, action="accounts.registered", target=user, ip=ip)
                _send_verification(user)
    except IntegrityError:  # a concurrent registration won the race: the same quiet answer
        user = None
    return Registration(email=email, user=user)


def _room_for(address: str) -> bool:
    """Whether one more e-mail may join `address`'s queue: repeated registrations with someone
    else's address must not fill their inbox (the outbox limit per recipient)."""
    return notifications.seconds_until_room(address) == 0


def _tell_owner_of_attempt(owner: User, *, ip: str | None) -> None:
    audit.record(actor=None, action="accounts.registration_with_taken_email", target=owner, ip=ip)
    if _room_for(owner.email):
        notifications.send_to_user(user=owner, template="registration-attempt", context={
            "login_link": settings.PANEL_URL + reverse("accounts:login"),
            "reset_link": settings.PANEL_URL + reverse("accounts:password_reset")})


def _tell_username_taken(*, email: str, username: str, language: str, ip: str | None) -> None:
    audit.record(actor=None, action="accounts.registration_with_taken_username", ip=ip,
                 actor_label=email[:254], details={"username": username[:150]})
    if _room_for(email):
        notifications.send_email(to=email, template="registration-username-taken",
                                 language=language, context={
                                     "username": username,
                                     "register_link": settings.PANEL_URL
                                     + reverse("accounts:register")})


def verification_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=VERIFY_SALT, compress=True)


def _send_verification(user: User) -> None:
    link = settings.PANEL_URL + reverse("accounts:verify", args=[verification_token(user)])
    hours = settings.EMAIL_VERIFICATION_MAX_AGE // 3600
    notifications.send_to_user(user=user, template="verify-email",
                               context={"link": link, "hours": hours})


def verify_email(*, token: str, ip: str | None = None) -> User:
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ServiceError(_("This verification link has expired. Ask for a new one."),
                           code="token_expired") from exc
    except signing.BadSignature as exc:
        raise ServiceError(_("This verification link is not valid."), code="token_invalid") from exc
    with transaction.atomic():
        user = (User.objects.select_for_update()
                .filter(pk=data.get("u"), email__iexact=data.get("e", ""), is_active=True).first())
        if user is None:
            raise ServiceError(_("This verification link is not valid."), code="token_invalid")
        if not user.email_verified:
            user.email_verified = True
            user.save(update_fields=["email_verified"])
            audit.record(actor=user, action="accounts.email_verified", target=user, ip=ip)
    return user


def resend_verification(*, email: str, ip: str | None = None) -> None:
    """Queue a fresh link. Unknown or verified addresses get the same answer (no enumeration),
    but the per-address e-mail limit is told plainly."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True,
                               email_verified=False).first()
    if user is None:
        return
    notifications.ensure_room(user.email)
    with transaction.atomic():
        _send_verification(user)
        audit.record(actor=None, action="accounts.verification_resent", target=user, ip=ip)


# --- Sign-in ---------------------------------------------------------------------------------

class LoginRefused(ServiceError):
    status = 401
    code = "invalid_credentials"


def check_can_sign_in(user: User) -> None:
    """Reasons a correct password still does not open a session, in plain words."""
    if not user.is_active:
        raise PermissionDenied(_("This account is deactivated."), code="account_inactive")
    if not user.email_verified:
        raise PermissionDenied(
            _("Your e-mail address is not verified yet. Follow the link we sent to %(email)s, "
              "or ask for a new one.") % {"email": user.email},
            code="email_unverified")


def authenticate_for_login(request, *, email: str, password: str, ip: str | None) -> User:
    """The account behind e-mail + password, or a ServiceError saying why not (audited)."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        inactive = User.objects.filter(email__iexact=email.strip(), is_active=False).exists()
        record_login_failure(email=email, ip=ip, reason="inactive" if inactive else "bad_credentials")
        raise LoginRefused(_("The e-mail address or password is not right."))
    try:
        check_can_sign_in(user)
    except ServiceError as error:
        record_login_failure(email=email, ip=ip, reason=error.code)
        raise
    return user


def has_mfa(user: User) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


def verify_otp(user: User, token: str):
    """The device that accepts `token` (TOTP code or an unused backup code), or None.

    Spaces and capitals are forgiven: backup codes are lower-case base32, TOTP codes digits."""
    token = "".join((token or "").split()).lower()
    if not token or len(token) > 16:
        return None
    return match_token(user, token)


def record_login(*, user: User, ip: str | None, method: str) -> None:
    with transaction.atomic():
        audit.record(actor=user, action="accounts.login", target=user, ip=ip,
                     details={"method": method})


def record_login_failure(*, email: str, ip: str | None, reason: str) -> None:
    user = User.objects.filter(email__iexact=email.strip()).first()
    with transaction.atomic():
        audit.record(actor=None, action="accounts.login_failed", target=user, ip=ip,
                     actor_label=email.strip()[:254], details={"reason": reason})


def record_logout(*, user: User, ip: str | None, method: str) -> None:
    with transaction.atomic():
        audit.record(actor=user, action="accounts.logout", target=user, ip=ip,
                     details={"method": method})


def issue_api_token(*, user: User, ip: str | None) -> str:
    with transaction.atomic():
        token, raw = ApiToken.issue(user)
        audit.record(actor=user, action="accounts.login", target=user, ip=ip,
                     details={"method": "api", "token_prefix": token.prefix})
    return raw


def revoke_api_token(*, token: ApiToken, ip: str | None) -> None:
    with transaction.atomic():
        audit.record(actor=token.user, action="accounts.logout", target=token.user, ip=ip,
                     details={"method": "api", "token_prefix": token.prefix})
        token.delete()


def record_password_reset(*, user: User, ip: str | None) -> None:
    with transaction.atomic():
        user.api_tokens.all().delete()  # a reset ends every API session of the old password
        audit.record(actor=user, action="accounts.password_reset", target=user, ip=ip)


def record_password_set_by_staff(*, actor: User, user: User, ip: str | None) -> int:
    """A staff member set someone's password (the admin's password form): whoever held the old
    one is out. Sessions end by themselves (each carries a hash of the old password); the API
    tokens are deleted here. Returns how many tokens went."""
    with transaction.atomic():
        revoked, _by_model = user.api_tokens.all().delete()
        audit.record(actor=actor, action="accounts.password_set_by_staff", target=user, ip=ip,
                     details={"api_tokens_revoked": revoked})
    return revoked


# --- Invitations: accounts made for someone else -----------------------------------------------

class InvitationTokens(PasswordResetTokenGenerator):
    """Set-password links of invitations: their own salt (a reset link is no invitation) and
    lifetime; spent once the password is set (the token hashes the password)."""

    key_salt = "accounts.invitation"

    def check_token(self, user, token) -> bool:
        # Django's own check ends at PASSWORD_RESET_TIMEOUT: the same check, INVITATION_MAX_AGE.
        try:
            stamp = base36_to_int(token.split("-")[0])
        except (AttributeError, ValueError):
            return False
        if not user or self._num_seconds(self._now()) - stamp > settings.INVITATION_MAX_AGE:
            return False
        return any(constant_time_compare(self._make_token_with_timestamp(user, stamp, secret), token)
                   for secret in [self.secret, *self.secret_fallbacks])


def invitation_link(user: User) -> str:
    path = reverse("accounts:invitation", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": InvitationTokens().make_token(user)})
    return settings.PANEL_URL + path


def invite(*, actor: User, user: User, ip: str | None = None) -> None:
    """E-mail `user` (made by `actor` in the admin or on an ops page) a link to choose their
    password; following it also verifies the address. Only for an account without a usable
    password (made so by whoever created it): nobody else's password is taken away. Sending
    again makes a fresh link (the old one works until it expires or a password is set)."""
    if user.has_usable_password():
        raise ServiceError(_("%(email)s has a password already: they can reset it themselves.")
                           % {"email": user.email}, code="has_password")
    with transaction.atomic():
        days = max(1, settings.INVITATION_MAX_AGE // 86400)
        notifications.send_to_user(user=user, template="invitation", context={
            "link": invitation_link(user), "days": days,
            "role": Role(user.role).label})  # lazy: in their language
        audit.record(actor=actor, action="accounts.invited", target=user, ip=ip,
                     details={"role": user.role})


def accept_invitation(*, user: User, password: str, ip: str | None = None) -> User:
    """The invited person chose a password through the e-mailed link: it is set and, the link
    having reached them, the address counts as verified; they can sign in now."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        user.email_verified = True
        user.save(update_fields=["password", "email_verified"])
        user.api_tokens.all().delete()
        audit.record(actor=user, action="accounts.invitation_accepted", target=user, ip=ip)
    return user


# --- MFA -------------------------------------------------------------------------------------

def start_totp_enrolment(*, user: User) -> TOTPDevice:
    """An unconfirmed authenticator for the user to scan; replaces an earlier unfinished one."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


def pending_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def totp_qr_svg(device: TOTPDevice) -> str:
    return qr.svg(device.config_url)


def totp_secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def confirm_totp_enrolment(*, user: User, token: str, ip: str | None) -> tuple[TOTPDevice, list[str]]:
    """Confirm the scanned authenticator with one code; returns it and fresh backup codes."""
    device = pending_totp_device(user)
    if device is None:
        raise ServiceError(_("Start the set-up again: no authenticator is waiting to be confirmed."),
                           code="no_pending_device")
    if not device.verify_token((token or "").replace(" ", "")):
        raise ServiceError(_("That code is not right. Check the time on your phone and try the "
                             "current code."), code="otp_invalid", fields={"token": [_("Wrong code.")]})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_backup_codes(user)
        audit.record(actor=user, action="accounts.mfa_enrolled", target=user, ip=ip,
                     details={"device": "totp"})
    return device, codes


def _replace_backup_codes(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="backup", defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(settings.MFA_BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def regenerate_backup_codes(*, user: User, ip: str | None) -> list[str]:
    if not has_mfa(user):
        raise ServiceError(_("Set up an authenticator first."), code="mfa_not_enrolled")
    with transaction.atomic():
        codes = _replace_backup_codes(user)
        audit.record(actor=user, action="accounts.mfa_backup_codes_regenerated", target=user, ip=ip)
    return codes


def disable_mfa(*, user: User, password: str, token: str, ip: str | None) -> None:
    if user.mfa_required:
        raise PermissionDenied(_("Your role requires two-factor authentication; it cannot be "
                                 "turned off."), code="mfa_required")
    if not user.check_password(password or ""):
        raise ServiceError(_("The password is not right."), code="invalid_password",
                           fields={"password": [_("Wrong password.")]})
    if verify_otp(user, token) is None:
        raise ServiceError(_("That code is not right."), code="otp_invalid",
                           fields={"token": [_("Wrong code.")]})
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=None):
            device.delete()
        audit.record(actor=user, action="accounts.mfa_disabled", target=user, ip=ip)


# --- Roles and permissions -------------------------------------------------------------------

def change_role(*, actor: User, user: User, role: str, ip: str | None = None) -> User:
    if not policy.can(actor, policy.SUPERADMIN):
        raise PermissionDenied(_("Only a super admin can change roles."))
    if role not in Role.values:
        raise ServiceError(_("Unknown role."), code="invalid_role")
    if user.pk == actor.pk and role != Role.SUPERADMIN:
        raise ServiceError(_("You cannot take the super admin role from yourself."),
                           code="self_demotion")
    with transaction.atomic():
        before = User.objects.select_for_update().get(pk=user.pk).role
        if before == role:
            return user
        user.role = role
        user.save()
        audit.record(actor=actor, action="accounts.role_changed", target=user, ip=ip,
                     details={"from": before, "to": role})
    return user


def record_permission_change(*, actor: User, target, before: set[str], after: set[str],
                             ip: str | None = None) -> None:
    """Audit a grant or withdrawal made in the admin (on a user or a role group)."""
    if before == after:
        return
    audit.record(actor=actor, action="accounts.permissions_changed", target=target, ip=ip,
                 details={"granted": sorted(after - before), "revoked": sorted(before - after)})


def permission_labels(permissions) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in permissions.select_related("content_type")}
