"""Revoking unused codes over the API: by id or by code; used codes stay used; bad input is 4xx."""

import pytest

from apps.audit.models import AuditEvent
from apps.distribution import codes, services
from apps.distribution.models import ActivationCode, CodeStatus
from tests.commerce.helpers import refused, snapshot
from tests.conftest import token_client


def revoke(user, **body):
    return token_client(user).post("/api/serial/revoke", body, format="json")


def test_unused_codes_are_revoked_and_used_ones_stay_used(admin_user, customer, make_code):
    fresh, used, other = (make_code(created_by=admin_user) for _i in range(3))
    services.redeem(user=customer, raw_code=used.code)
    response = revoke(admin_user, codes=[fresh.display.lower(), used.display, fresh.code], ids=[other.pk])
    assert response.status_code == 200
    assert response.json()["revoked"] == 2
    statuses = dict(ActivationCode.objects.values_list("pk", "status"))
    assert statuses == {fresh.pk: CodeStatus.REVOKED, used.pk: CodeStatus.USED,
                        other.pk: CodeStatus.REVOKED}
    assert AuditEvent.objects.filter(action="distribution.codes_revoked", actor=admin_user).count() == 1


@pytest.mark.parametrize("body, status", [
    ({}, 400),
    ({"codes": []}, 400),
    ({"codes": "ABC"}, 400),
    ({"codes": ["not a code"]}, 400),
    ({"codes": [12345]}, 400),
    ({"codes": [codes.generate()]}, 404),
    ({"ids": [999_999]}, 404),
    ({"ids": [10**20]}, 400),  # beyond a primary key's range: malformed
    ({"ids": ["x"]}, 400),
    ({"ids": [-1]}, 400),
    ({"codes": [codes.generate() for _i in range(1001)]}, 400),
])
def test_bad_revocations_are_refused_and_change_nothing(admin_user, make_code, body, status):
    make_code(created_by=admin_user)
    before = snapshot()
    refused(revoke(admin_user, **body), status)
    assert snapshot() == before


def test_one_unknown_code_refuses_the_whole_request(admin_user, make_code):
    mine = make_code(created_by=admin_user)
    before = snapshot()
    refused(revoke(admin_user, codes=[mine.display, codes.generate()]), 404, "unknown_codes")
    assert snapshot() == before
