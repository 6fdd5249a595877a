"""Pinning codes to servers: only to servers the caller can see, and nothing to learn by trying.

An id the caller cannot see is answered exactly like an id that does not exist, so server ids
cannot be enumerated; distributors see no servers at all and are told pinning is not theirs.
"""

import pytest
from django.contrib.auth.models import Group, Permission

from apps.distribution.models import ActivationCode
from apps.servers.models import ServerQuerySet
from tests.commerce.helpers import refused, snapshot
from tests.conftest import token_client
from tests.containers.conftest import make_server

pytestmark = pytest.mark.django_db

ADMIN_URL = "/api/serial/generate"
DISTRIBUTOR_URL = "/api/distributor/serial/generate"


@pytest.fixture
def shown_and_hidden(monkeypatch):
    """Two servers; the second is outside what admins may see (as a per-admin fleet would be)."""
    shown, hidden = make_server(name="shown"), make_server(name="hidden")
    original = ServerQuerySet.visible_to

    def visible_to(self, viewer):
        seen = original(self, viewer)
        return seen if viewer.is_superuser else seen.exclude(pk=hidden.pk)

    monkeypatch.setattr(ServerQuerySet, "visible_to", visible_to)
    return shown, hidden


def batch(client, url, server_ids):
    return client.post(url, {"duration_days": 30, "quantity": 2, "server_ids": server_ids},
                       format="json")


def test_an_admin_pins_codes_to_a_server_they_can_see(admin_user, shown_and_hidden):
    shown, _hidden = shown_and_hidden

    response = batch(token_client(admin_user), ADMIN_URL, [shown.pk])

    assert response.status_code == 201
    ids = [row["id"] for row in response.json()["serials"]]
    for code in ActivationCode.objects.filter(pk__in=ids):
        assert list(code.servers.all()) == [shown]


def test_a_server_the_admin_cannot_see_is_answered_like_one_that_does_not_exist(
        admin_user, shown_and_hidden):
    shown, hidden = shown_and_hidden
    missing = hidden.pk + 1000
    client = token_client(admin_user)
    before = snapshot()

    invisible = refused(batch(client, ADMIN_URL, [shown.pk, hidden.pk]), 404, "unknown_servers")
    unknown = refused(batch(client, ADMIN_URL, [shown.pk, missing]), 404, "unknown_servers")

    assert invisible["message"].replace(str(hidden.pk), "N") == \
        unknown["message"].replace(str(missing), "N")
    assert invisible["fields"] == unknown["fields"]
    assert snapshot() == before


def test_a_super_admin_pins_to_any_server(superadmin, shown_and_hidden):
    _shown, hidden = shown_and_hidden

    response = batch(token_client(superadmin), ADMIN_URL, [hidden.pk])

    assert response.status_code == 201


def test_a_distributor_cannot_pin_and_learns_nothing_about_the_ids(reseller, fund, shown_and_hidden):
    shown, hidden = shown_and_hidden
    fund(reseller, 1_000_000)
    client = token_client(reseller)
    before = snapshot()

    answers = [refused(batch(client, DISTRIBUTOR_URL, ids), 403, "pinning_not_allowed")
               for ids in ([shown.pk], [hidden.pk], [hidden.pk + 1000])]

    assert answers[0] == answers[1] == answers[2]
    assert "server_ids" in answers[0]["fields"]
    assert snapshot() == before  # no order, no codes, no money moved


def test_a_distributor_batch_without_servers_still_works(reseller, fund):
    fund(reseller, 1_000_000)

    response = batch(token_client(reseller), DISTRIBUTOR_URL, [])

    assert response.status_code == 201


def test_an_admin_whose_server_view_was_withdrawn_cannot_pin(admin_user, shown_and_hidden):
    shown, _hidden = shown_and_hidden
    Group.objects.get(name="admin").permissions.remove(
        Permission.objects.get(content_type__app_label="servers", codename="view_server"))

    refused(batch(token_client(admin_user), ADMIN_URL, [shown.pk]), 403, "pinning_not_allowed")
