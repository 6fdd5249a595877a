"""The review before a batch is bought: what it is, the total, the balance now and after; the
confirmation buys exactly that, for that total, once."""

import pytest

from apps.billing import services as billing
from apps.billing.models import LedgerEntry, Order, Plan
from apps.distribution.models import ActivationCode
from tests.conftest import signed_in_client
from tests.project.csp import assert_csp_clean

from .conftest import FUNDS_FEN, review_token


def review(client, month, quantity="3", pay=True):
    form = {"plan": month.pk, "quantity": quantity, **({"pay_with_balance": "on"} if pay else {})}
    return client.post("/portal/codes/generate/", form)


def confirm(client, token: str):
    return client.post("/portal/codes/generate/confirm/", {"review": token})


def batches(dealer):
    return Order.objects.filter(buyer=dealer, kind="code_batch")


def test_the_review_shows_the_batch_the_total_and_the_balance_after_and_buys_nothing(portal, funded,
                                                                                   month):
    response = review(portal, month)

    assert response.status_code == 200
    body = response.content.decode()
    for shown in ['<dd class="quantity">3</dd>', '<dd class="unit-price">¥39.00</dd>',
                  '<dd class="list-price">¥117.00</dd>', '<dd class="discount">−¥11.70</dd>',
                  '<dd class="total"><strong>¥105.30</strong></dd>',
                  '<dd class="balance">¥1,000.00</dd>', '<dd class="balance-after">¥894.70</dd>',
                  "Confirm and pay", ">Back</button>"]:
        assert shown in body
    assert not batches(funded).exists() and not ActivationCode.objects.exists()
    assert billing.balance_of(funded) == FUNDS_FEN


def test_a_batch_paid_later_shows_no_balance_after(portal, dealer, month):
    body = review(portal, month, pay=False).content.decode()
    assert "balance-after" not in body
    assert "Confirm the order" in body


def test_a_review_the_balance_does_not_cover_offers_no_confirm(portal, dealer, month):
    response = review(portal, month)
    assert response.status_code == 402
    assert b"Your balance does not cover this batch." in response.content
    assert b"Confirm and pay" not in response.content


def test_back_returns_to_the_form_with_the_choice_kept(portal, funded, month):
    response = portal.post("/portal/codes/generate/", {"plan": month.pk, "quantity": "7",
                                                      "action": "edit"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="quantity" value="7"' in body
    assert f'<option value="{month.pk}" selected>' in body
    assert not batches(funded).exists()


def test_confirming_twice_buys_one_batch(portal, funded, month):
    token = review_token(review(portal, month))

    first, second = confirm(portal, token), confirm(portal, token)

    assert (first.status_code, second.status_code) == (302, 302)
    assert first["Location"] == second["Location"]
    assert batches(funded).count() == 1
    assert ActivationCode.objects.count() == 3
    assert LedgerEntry.objects.filter(wallet__owner=funded, amount_fen__lt=0).count() == 1
    assert billing.balance_of(funded) == FUNDS_FEN - 10530


@pytest.mark.parametrize("change", ["plan price", "tier discount"])
def test_a_price_change_after_the_review_buys_nothing_and_shows_the_new_total(portal, funded, month,
                                                                             gold, change):
    token = review_token(review(portal, month))
    if change == "plan price":
        Plan.objects.filter(pk=month.pk).update(price_fen=40_00)  # 3 × ¥40.00 less 10%: ¥108.00
        now = "¥108.00"
    else:
        gold.discount_percent = 0
        gold.save()
        now = "¥117.00"

    response = confirm(portal, token)

    assert response.status_code == 409
    body = response.content.decode()
    assert f"the total is now {now}, not ¥105.30" in body
    assert f'<dd class="total"><strong>{now}</strong></dd>' in body
    assert not batches(funded).exists() and not ActivationCode.objects.exists()
    assert billing.balance_of(funded) == FUNDS_FEN


def test_a_forged_or_borrowed_review_buys_nothing(portal, funded, month, rival, superadmin):
    token = review_token(review(portal, month))
    billing.top_up(actor=superadmin, user=rival, amount_fen=FUNDS_FEN, reference="bank 9")

    assert confirm(signed_in_client(rival), token).status_code == 400
    assert confirm(portal, token[:-2] + "xx").status_code == 400
    assert confirm(portal, "").status_code == 400
    assert not Order.objects.filter(kind="code_batch").exists()


def test_the_confirmation_takes_only_a_post(portal, funded, month):
    token = review_token(review(portal, month))
    assert portal.get("/portal/codes/generate/confirm/", {"review": token}).status_code == 405
    assert not batches(funded).exists()


def test_the_review_page_keeps_the_content_security_policy(portal, funded, month):
    assert_csp_clean(review(portal, month))
