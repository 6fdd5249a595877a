"""What a refused request must leave untouched, and how an API refusal looks."""

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.billing.models import (
    Commission,
    CommissionSettlement,
    Coupon,
    CouponRedemption,
    LedgerEntry,
    Order,
    Wallet,
)
from apps.distribution.models import ActivationCode, Referral
from apps.notifications.models import OutboundEmail


def snapshot() -> dict:
    """Row counts and the money and rental state that commerce requests can change."""
    return {
        "orders": Order.objects.count(),
        "codes": ActivationCode.objects.count(),
        "code_states": sorted(ActivationCode.objects.values_list("pk", "status", "user_id", "paid")),
        "ledger": LedgerEntry.objects.count(),
        "balances": sorted(Wallet.objects.values_list("owner_id", "balance_fen")),
        "coupon_uses": sorted(Coupon.objects.values_list("pk", "used_count")),
        "redemptions": CouponRedemption.objects.count(),
        "commissions": Commission.objects.count(),
        "settlements": CommissionSettlement.objects.count(),
        "referrals": Referral.objects.count(),
        "rentals": sorted(User.objects.values_list("pk", "rental_state", "rental_expiry")),
        "audit": AuditEvent.objects.count(),
        "mail": OutboundEmail.objects.count(),
    }


def refused(response, status: int, code: str | None = None) -> dict:
    """Assert the envelope of a refusal and return its error."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["success"] is False
    assert set(body["error"]) >= {"code", "message"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
