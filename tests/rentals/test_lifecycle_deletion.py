"""Deleting an account: refused while finance is open (with the list of what is open), refused
for oneself and for the last super admin; otherwise the account is anonymised, its derpMaps,
devices and sign-in means go, its relays are removed, and its orders stay for the books."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import ApiToken, RentalState, Role, User
from apps.acl.models import AclConfig, DerpMapFeed, Device
from apps.audit.models import AuditEvent
from apps.billing import services as billing
from apps.billing.models import Commission, CommissionStatus, LedgerKind, Order, OrderKind, OrderStatus, Plan
from apps.containers.models import InstanceStatus
from apps.distribution import codes
from apps.distribution.models import ActivationCode, CodeStatus
from apps.notifications.models import OutboundEmail
from apps.operations.models import Operation
from apps.rentals import services
from derpmgr.errors import ServiceError
from tests.factories import UserFactory
from tests.rentals.conftest import relays


def order(user, *, status=OrderStatus.COMPLETED) -> Order:
    return Order.objects.create(buyer=user, kind=OrderKind.PURCHASE, status=status, amount_fen=3000,
                                list_price_fen=3000,
                                plan=Plan.objects.get(duration_days=30))


def with_balance(user):
    billing.post_entry(owner=user, amount_fen=1234, kind=LedgerKind.TOP_UP)


def with_pending_order(user):
    order(user, status=OrderStatus.PENDING)


def with_accrued_commission(user):
    Commission.objects.create(distributor=user, order=order(UserFactory()), percent=10,
                              amount_fen=300, status=CommissionStatus.ACCRUED)


def with_unused_paid_code(user):
    ActivationCode.objects.create(code=codes.generate(), plan=Plan.objects.get(duration_days=30),
                                  created_by=user, paid=True, status=CodeStatus.UNUSED,
                                  expires_at=timezone.now() + timedelta(days=30))


def state(user) -> tuple:
    """What a refused deletion must leave as it was."""
    user = User.objects.get(pk=user.pk)
    return (user.email, user.username, user.is_active, user.rental_state, user.deleted_at,
            sorted((r.pk, r.status) for r in relays(user)),
            AclConfig.objects.filter(user=user).count(), Device.objects.filter(user=user).count(),
            OutboundEmail.objects.count(), AuditEvent.objects.count(), Operation.objects.count())


@pytest.mark.parametrize(("make_unsettled", "said"), [
    (with_balance, "balance is ¥12.34"),
    (with_pending_order, "1 order(s) are still pending"),
    (with_accrued_commission, "Commission of ¥3.00 is not settled"),
    (with_unused_paid_code, "1 paid activation code(s) they own are unused"),
])
def test_deletion_is_refused_while_finance_is_unsettled(renting, superadmin, make_unsettled, said):
    make_unsettled(renting)
    before = state(renting)

    with pytest.raises(ServiceError) as refused:
        services.delete_user(actor=superadmin, user=renting)

    assert (refused.value.code, refused.value.status) == ("finance_unsettled", 409)
    assert len(refused.value.fields["unsettled"]) == 1
    assert said in refused.value.fields["unsettled"][0]
    assert state(renting) == before


def test_every_open_item_is_listed(renting, superadmin):
    for make_unsettled in (with_balance, with_pending_order, with_accrued_commission,
                           with_unused_paid_code):
        make_unsettled(renting)
    with pytest.raises(ServiceError) as refused:
        services.delete_user(actor=superadmin, user=renting)
    assert len(refused.value.fields["unsettled"]) == 4


def test_a_settled_account_is_anonymised_and_its_relays_removed(renting, superadmin, fake_engine,
                                                                run_operations):
    former = renting.email
    kept = order(renting)
    Device.objects.create(user=renting, name="laptop", node_key=f"nodekey:{1:064x}")
    ApiToken.issue(renting)
    assert AclConfig.objects.filter(user=renting).exists()

    services.delete_user(actor=superadmin, user=renting, ip="192.0.2.1")
    run_operations()

    gone = User.objects.get(pk=renting.pk)
    assert (gone.email, gone.username) == (f"deleted-{gone.pk}@deleted.invalid", f"deleted-{gone.pk}")
    assert not gone.is_active and not gone.has_usable_password() and gone.deleted_at
    assert gone.rental_state == RentalState.DEREGISTERED
    assert not ApiToken.objects.filter(user=gone).exists()
    assert not Device.objects.filter(user=gone).exists()
    assert not AclConfig.objects.filter(user=gone).exists()
    assert not DerpMapFeed.objects.filter(user=gone).exists()
    assert {r.status for r in relays(gone)} == {InstanceStatus.REMOVED}
    assert all(fake_engine.on(r.server) == {} for r in relays(gone))
    assert Order.objects.get(pk=kept.pk).buyer_id == gone.pk  # the books stay
    event = AuditEvent.objects.get(action="accounts.deleted")
    assert event.actor == superadmin and event.details["email"] == former
    assert list(OutboundEmail.objects.filter(to=former).values_list("template", flat=True)
                .order_by("-pk")[:1]) == ["account-deleted"]


def test_a_deleted_account_cannot_be_deleted_again(renting, superadmin):
    services.delete_user(actor=superadmin, user=renting)
    with pytest.raises(ServiceError) as refused:
        services.delete_user(actor=superadmin, user=User.objects.get(pk=renting.pk))
    assert refused.value.status == 404


def test_relays_an_operator_placed_without_a_rental_go_with_the_account(customer, superadmin,
                                                                        servers, fake_engine,
                                                                        run_operations):
    from tests.containers.conftest import relay

    placed = relay(customer, servers[0], engine=fake_engine)
    services.delete_user(actor=superadmin, user=customer)
    run_operations()
    assert relays(customer)[0].pk == placed.pk and relays(customer)[0].status == InstanceStatus.REMOVED


def test_nobody_deletes_themselves(superadmin):
    other = UserFactory(role=Role.SUPERADMIN)
    with pytest.raises(ServiceError) as refused:
        services.delete_user(actor=other, user=other)
    assert (refused.value.code, refused.value.status) == ("cannot_delete_self", 409)
    assert User.objects.get(pk=other.pk).deleted_at is None


def test_the_last_super_admin_is_never_deleted(superadmin, admin_user):
    former = UserFactory(role=Role.SUPERADMIN, is_active=False)  # a super admin no longer active
    with pytest.raises(ServiceError) as refused:
        services.delete_user(actor=former, user=superadmin)
    assert (refused.value.code, refused.value.status) == ("last_superadmin", 409)

    with pytest.raises(ServiceError) as refused:
        services.delete_user(actor=admin_user, user=superadmin)
    assert refused.value.status == 403
    assert User.objects.get(pk=superadmin.pk).deleted_at is None


def test_a_deleted_account_cannot_be_reactivated(superadmin, renting):
    services.delete_user(actor=superadmin, user=renting)
    with pytest.raises(ServiceError) as refused:
        services.set_account_active(actor=superadmin, user=renting, active=True)
    assert refused.value.code == "account_deleted"
    renting.refresh_from_db()
    assert not renting.is_active
