"""The rental over the API: operators read a customer's rental, renew it (to a date or by days),
suspend and resume it, and delete an account. Each view parses, checks, calls one verb of
services.py; a refusal is the service's (4xx, nothing changed)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from apps.accounts import policy
from apps.accounts.models import User
from derpmgr.api import allowed, ok, validated
from derpmgr.api_fields import StrictCharField, StrictIntegerField
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import services
from .status import end_label, rental_status, visible_account

# --- Input -----------------------------------------------------------------------------------

class RenewSerializer(serializers.Serializer):
    until = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=40,
        help_text="The new end: the rental runs through this day (YYYY-MM-DD, the panel's time "
                  "zone), or an exact ISO date-time. In the future, within ten years.")
    days = StrictIntegerField(
        required=False, allow_null=True,
        help_text=f"Or: days to add to the later of now and the current end "
                  f"(1 to {services.MAX_RENEWAL_DAYS}). Give until or days, not both.")

class SuspendSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, allow_null=True,
                                   help_text="Why (required, at most 500 characters): the "
                                             "customer sees it.")


# --- Output ----------------------------------------------------------------------------------

class ReminderSerializer(serializers.Serializer):
    days_before = serializers.IntegerField()
    sent_at = serializers.DateTimeField()


class RelaysSerializer(serializers.Serializer):
    promised = serializers.IntegerField()
    running = serializers.IntegerField()
    missing = serializers.IntegerField(help_text="Promised relays not running while the rental "
                                                 "is active (placed once a server has room).")
    intent = serializers.CharField(help_text="What the relays should be doing: none, run, "
                                             "stop (ports kept) or release.")


class RelayWorkSerializer(serializers.Serializer):
    pending = serializers.BooleanField(source="relay_work_pending",
                                       help_text="The relays do not yet do what the rental wants.")
    operation_id = serializers.IntegerField(allow_null=True, help_text="The operation under way "
                                            "for this customer (GET /api/operations/<id>).")
    note = serializers.CharField(source="rental.relays_note")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        viewer = self.context.get("viewer")
        if viewer is not None and not viewer.is_staff_role:
            data["note"] = ""  # what the servers answered is for the operators
        return data


class RentalSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(source="user.pk")
    state = serializers.CharField()
    state_display = serializers.CharField()
    end = serializers.DateTimeField(allow_null=True)
    period = serializers.IntegerField(source="rental.period")
    period_started_at = serializers.DateTimeField(source="rental.period_started_at",
                                                  allow_null=True)
    suspended_at = serializers.DateTimeField(source="rental.suspended_at", allow_null=True)
    suspended_by_hand = serializers.BooleanField(source="rental.suspended_by_hand")
    suspension_reason = serializers.CharField(source="rental.suspension_reason")
    deregistered_at = serializers.DateTimeField(source="rental.deregistered_at", allow_null=True)
    deleted = serializers.BooleanField()
    relays = RelaysSerializer(source="*")
    relay_work = RelayWorkSerializer(source="*")
    reminders_sent = ReminderSerializer(many=True, help_text="Reminders sent this period.")


class RentalEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    rental = RentalSerializer()
    message = serializers.CharField(required=False, help_text="What was done (after a change).")


def _target(request, pk: int) -> User:
    """The user named in the path, if the caller may see them (else 404, as if there were none)."""
    user = visible_account(request.user, pk)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def _answer(user: User, *, viewer: User | None = None, **extra):
    user.refresh_from_db()
    return ok({"rental": RentalSerializer(rental_status(user), context={"viewer": viewer}).data,
               **extra})


# --- Views -----------------------------------------------------------------------------------

class RentalView(APIView):
    """GET /api/user/<id>/rental — the customer's rental as it stands."""

    permission_classes = [allowed("accounts.view_user")]

    @extend_schema(responses={200: RentalEnvelope})
    def get(self, request, pk):
        return _answer(_target(request, pk))


class MyRentalView(APIView):
    """GET /api/user/me/rental — the signed-in customer's own rental: state, end, why it is
    suspended, and how many of the promised relays run."""

    permission_classes = [allowed(policy.CUSTOMER)]

    @extend_schema(responses={200: RentalEnvelope})
    def get(self, request):
        return _answer(request.user, viewer=request.user)


class RenewView(APIView):
    """POST /api/user/<id>/renew — renew to an end date (`until`) or by `days`: audited, e-mailed,
    relays restarted (or placed anew after deregistration). Refused: 400 for neither or both of
    until and days, not a date, a date in the past or more than ten years away, days not from 1
    to 3650; 409 for a deleted account or not a customer's."""

    permission_classes = [allowed("rentals.renew_rental")]

    @extend_schema(request=RenewSerializer, responses={200: RentalEnvelope})
    def post(self, request, pk):
        user = _target(request, pk)
        data = validated(RenewSerializer, request)
        services.renew(user=user, actor=request.user, until=data.get("until"),
                       days=data.get("days"), ip=client_ip(request))
        return _answer(user, message=_("Renewed until %(end)s.") % {"end": end_label(user)})


class SuspendView(APIView):
    """POST /api/user/<id>/suspend — stop the rental by hand (`reason`, shown to the customer):
    relays stopped, ports kept; the end date runs on. Refused: 400 without a reason or with one
    too long; 409 when not active or suspended by hand already."""

    permission_classes = [allowed("rentals.suspend_rental")]

    @extend_schema(request=SuspendSerializer, responses={200: RentalEnvelope})
    def post(self, request, pk):
        user = _target(request, pk)
        data = validated(SuspendSerializer, request)
        services.suspend(user=user, actor=request.user, reason=data.get("reason") or "",
                         ip=client_ip(request))
        return _answer(user, message=_("Suspended."))


class ResumeView(APIView):
    """POST /api/user/<id>/resume — lift a suspension by hand: active again if the rental has not
    ended meanwhile (else it stays suspended until renewed). Refused: 409 when not suspended by
    hand."""

    permission_classes = [allowed("rentals.suspend_rental")]

    @extend_schema(request=None, responses={200: RentalEnvelope})
    def post(self, request, pk):
        user = _target(request, pk)
        services.resume(user=user, actor=request.user, ip=client_ip(request))
        return _answer(user, message=_("Resumed."))


class UserView(APIView):
    """DELETE /api/user/<id> — delete an account whose finance is settled: derpMaps destroyed,
    relays released (retried until done), e-mail, audit; the account is anonymised while its
    orders, ledger and audit stay. Super admins, or admins granted accounts.delete_user.
    Refused: 403 for another staff member's account; 409 for one's own account, the last super
    admin, or finance unsettled (error.fields.unsettled lists what is open)."""

    permission_classes = [allowed("accounts.delete_user")]

    @extend_schema(request=None, responses={200: RentalEnvelope})
    def delete(self, request, pk):
        user = _target(request, pk)
        policy.require(request.user, "accounts.delete_user", user)
        services.delete_user(actor=request.user, user=user, ip=client_ip(request))
        return _answer(user, message=_("The account is deleted."))
