"""The customer's relay list on "My rental": loaded with htmx, polling every 3 s while a relay is
being set up or moved, quiet once every relay is running or failed."""

import pytest

from apps.containers.models import InstanceStatus
from tests.conftest import signed_in_client
from tests.containers.conftest import make_server, relay

HTMX = {"HX-Request": "true"}


@pytest.fixture
def page(renter):
    return signed_in_client(renter)


def fragment(page) -> str:
    response = page.get("/relays/mine/", headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_the_dashboard_loads_the_relay_list(page):
    body = page.get("/accounts/me/").content.decode()
    assert 'hx-get="/relays/mine/"' in body and 'hx-trigger="load"' in body
    assert 'id="billing-summary"' in body  # what was there stays


def test_it_polls_while_a_relay_is_being_set_up(page, renter):
    relay(renter, make_server(name="tokyo", location="Tokyo"), status=InstanceStatus.PENDING)
    body = fragment(page)
    assert 'hx-trigger="every 3s"' in body and 'hx-get="/relays/mine/"' in body
    assert "tokyo" in body and "Tokyo" in body and "Being set up" in body


def test_it_polls_while_a_relay_is_moving(page, renter):
    relay(renter, make_server(), status=InstanceStatus.MIGRATING)
    assert 'hx-trigger="every 3s"' in fragment(page)


@pytest.mark.parametrize("statuses", [["running"], ["running", "error"], ["error"], ["stopped"]])
def test_it_stops_polling_once_nothing_is_in_progress(page, renter, statuses):
    for status in statuses:
        relay(renter, make_server(), status=status)
    body = fragment(page)
    assert "every 3s" not in body and "hx-get" not in body


def test_it_shows_the_server_port_status_and_plain_failure_message(page, renter):
    ok = relay(renter, make_server(name="osaka", location="Osaka"), port=30123)
    broken = relay(renter, make_server(name="seoul"), status=InstanceStatus.ERROR)
    broken.last_error = "docker.errors.APIError: 500 Server Error"
    broken.save(update_fields=["last_error"])

    body = fragment(page)

    assert "osaka" in body and "Osaka" in body and "30123" in body and "Running" in body
    assert "seoul" in body and "Failed" in body and "could not be set up" in body
    assert "APIError" not in body
    assert ok.admission_token not in body and broken.admission_token not in body


def test_removed_relays_are_not_listed(page, renter):
    relay(renter, make_server(name="gone"), status=InstanceStatus.REMOVED)
    assert "gone" not in fragment(page)


def test_only_the_customers_own_relays_are_listed(page, stranger):
    relay(stranger, make_server(name="not-yours"))
    assert "not-yours" not in fragment(page)


def test_opened_directly_it_is_a_whole_page(page, renter):
    relay(renter, make_server(name="paris"))
    response = page.get("/relays/mine/")
    body = response.content.decode()
    assert "<html" in body and "paris" in body
