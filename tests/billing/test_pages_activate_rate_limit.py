"""Wrong codes are limited per customer and per address, sharing the API's counters.

Each test lowers one limit to three wrong codes in ten minutes (the other stays generous) and
stops the clock, so no window rolls over mid-test.
"""

import re

import pytest

from apps.accounts.models import RentalState
from apps.distribution.models import CodeStatus
from tests.billing.conftest import mistyped, text
from tests.conftest import signed_in_client, token_client

TRY_AGAIN = re.compile(r"Too many attempts\. Please try again in \d+ minutes?\.")


@pytest.fixture(autouse=True)
def limits(settings, frozen_clock):
    settings.RATE_REDEEM_PER_USER = "100/10m"
    settings.RATE_REDEEM_PER_IP = "100/10m"
    return settings


def wrong_codes(client, how_many: int, *, code, ip: str = "198.51.100.1") -> list[int]:
    return [client.post("/billing/activate/", {"code": mistyped(code.code)}, REMOTE_ADDR=ip).status_code
            for _try in range(how_many)]


def assert_rate_limited(response):
    assert response.status_code == 429
    assert TRY_AGAIN.search(text(response))
    assert 0 < int(response["Retry-After"]) <= 600


def test_a_correct_code_still_works_one_short_of_the_limit(limits, page, customer, make_code):
    limits.RATE_REDEEM_PER_USER = "3/10m"
    good = make_code()
    assert wrong_codes(page, 2, code=good) == [400, 400]

    response = page.post("/billing/activate/", {"code": good.display}, REMOTE_ADDR="198.51.100.1")

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.rental_state == RentalState.ACTIVE


def test_after_n_wrong_codes_even_a_correct_one_is_refused(limits, page, customer, make_code):
    limits.RATE_REDEEM_PER_USER = "3/10m"
    good = make_code()
    assert wrong_codes(page, 3, code=good) == [400, 400, 400]

    response = page.post("/billing/activate/", {"code": good.display}, REMOTE_ADDR="198.51.100.1")

    assert_rate_limited(response)
    good.refresh_from_db()
    assert good.status == CodeStatus.UNUSED
    customer.refresh_from_db()
    assert customer.rental_state == RentalState.NONE


def test_the_customer_limit_follows_them_to_another_address(limits, page, make_code):
    limits.RATE_REDEEM_PER_USER = "3/10m"
    good = make_code()
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        wrong_codes(page, 1, code=good, ip=ip)

    assert_rate_limited(page.post("/billing/activate/", {"code": good.display},
                                  REMOTE_ADDR="203.0.113.9"))


def test_the_address_limit_covers_every_account_behind_it(limits, page, stranger, make_code):
    limits.RATE_REDEEM_PER_IP = "3/10m"
    good = make_code()
    wrong_codes(page, 2, code=good)
    wrong_codes(signed_in_client(stranger), 1, code=good)

    assert_rate_limited(signed_in_client(stranger).post("/billing/activate/", {"code": good.display},
                                                         REMOTE_ADDR="198.51.100.1"))
    response = signed_in_client(stranger).post("/billing/activate/", {"code": good.display},
                                               REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302


def test_unknown_expired_and_revoked_codes_count_as_wrong(limits, page, make_code):
    limits.RATE_REDEEM_PER_USER = "3/10m"
    gone = make_code()
    gone.delete()
    refused = [gone, make_code(status=CodeStatus.EXPIRED), make_code(status=CodeStatus.REVOKED)]
    statuses = [page.post("/billing/activate/", {"code": code.display}).status_code for code in refused]
    assert statuses == [404, 410, 410]

    assert_rate_limited(page.post("/billing/activate/", {"code": make_code().display}))


def test_the_page_and_the_api_share_the_counters(limits, page, customer, make_code):
    limits.RATE_REDEEM_PER_USER = "3/10m"
    good = make_code()
    api = token_client(customer)
    for _try in range(2):
        assert api.post("/api/serial/activate", {"code": mistyped(good.code)}, format="json",
                        REMOTE_ADDR="198.51.100.7").status_code == 400
    wrong_codes(page, 1, code=good)

    assert_rate_limited(page.post("/billing/activate/", {"code": good.display}))
