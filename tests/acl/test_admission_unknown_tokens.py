"""Made-up admission tokens cannot fill the admission cache or keep the database busy.

Answers about unknown tokens are never cached (each would be one more entry, per token); a
calling address that asks about more unknown tokens a minute than ADMISSION_UNKNOWN_TOKENS_PER_MINUTE
is refused without a query until the minute ends. Real relays' answers are cached as before.
Run with REDIS_URL set for the shared cache; without it, the per-process cache.
"""

import pytest
from django.test import Client

from apps.acl import admission, services
from tests.acl.conftest import admit, node_key

SPRAYER, OTHER = "203.0.113.99", "198.51.100.3"
BODY = {"NodePublic": node_key(1), "Source": "1.2.3.4"}


@pytest.fixture(autouse=True)
def unknown_tokens(monkeypatch, settings):
    settings.ADMISSION_UNKNOWN_TOKENS_PER_MINUTE = 3
    limiter = admission._UnknownTokens()
    monkeypatch.setattr(admission, "_unknown", limiter)
    return limiter


@pytest.fixture
def client():
    return Client()


def cached(token: str) -> bool:
    entry, _stamp = admission._entries().get(admission.token_hash(token))
    return entry is not None


def made_up(n: int) -> str:
    return f"madeup{n:04d}" + "x" * 20


def test_an_unknown_token_is_refused_and_not_cached(client, db):
    response = admit(client, made_up(1), BODY, REMOTE_ADDR=SPRAYER)

    assert response.json() == {"Allow": False}
    assert not cached(made_up(1))


def test_a_real_relays_answer_is_still_cached(client, renter, relays):
    services.add_device(user=renter, name="laptop", node_key=node_key(1))
    services.issue_version(user=renter, reason="test")

    assert admit(client, relays[0].admission_token, BODY).json() == {"Allow": True}
    assert cached(relays[0].admission_token)


def test_an_address_spraying_unknown_tokens_is_refused_without_a_query(
        client, db, django_assert_num_queries):
    for n in range(3):
        admit(client, made_up(n), BODY, REMOTE_ADDR=SPRAYER)

    with django_assert_num_queries(0):
        response = admit(client, made_up(99), BODY, REMOTE_ADDR=SPRAYER)

    assert response.status_code == 200 and response.json() == {"Allow": False}


def test_other_addresses_are_not_held_back(client, renter, relays, django_assert_num_queries):
    services.add_device(user=renter, name="laptop", node_key=node_key(1))
    services.issue_version(user=renter, reason="test")
    for n in range(5):
        admit(client, made_up(n), BODY, REMOTE_ADDR=SPRAYER)

    assert admit(client, relays[0].admission_token, BODY, REMOTE_ADDR=OTHER).json() == {"Allow": True}
    with django_assert_num_queries(1):  # an unknown token from elsewhere is still looked up
        admit(client, made_up(50), BODY, REMOTE_ADDR=OTHER)


def test_a_cached_relay_answer_is_given_even_to_a_limited_address(client, renter, relays):
    services.add_device(user=renter, name="laptop", node_key=node_key(1))
    services.issue_version(user=renter, reason="test")
    token = relays[0].admission_token
    assert admit(client, token, BODY, REMOTE_ADDR=SPRAYER).json() == {"Allow": True}
    for n in range(5):
        admit(client, made_up(n), BODY, REMOTE_ADDR=SPRAYER)

    assert admit(client, token, BODY, REMOTE_ADDR=SPRAYER).json() == {"Allow": True}


def test_the_limit_lifts_when_the_minute_ends(client, db, unknown_tokens,
                                              django_assert_num_queries):
    for n in range(4):
        admit(client, made_up(n), BODY, REMOTE_ADDR=SPRAYER)

    unknown_tokens.minute -= 1  # as if the minute had ended
    with django_assert_num_queries(1):
        admit(client, made_up(7), BODY, REMOTE_ADDR=SPRAYER)


def test_the_count_stays_bounded_whatever_the_number_of_addresses(db, unknown_tokens):
    for n in range(admission._UnknownTokens.MAX_ADDRESSES + 5):
        unknown_tokens.note(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")

    assert len(unknown_tokens.counts) <= admission._UnknownTokens.MAX_ADDRESSES + 1
