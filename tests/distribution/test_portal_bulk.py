"""The codes list: copy one code or the whole page, tick unused codes and revoke them after a
confirmation step that names them."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.distribution.models import ActivationCode

CONFIRM = "/portal/codes/revoke/confirm/"


def _statuses(codes) -> list[str]:
    return [ActivationCode.objects.get(pk=c.pk).status for c in codes]


def test_every_code_has_a_copy_button_and_the_page_can_be_copied_whole(portal, dealer, make_codes):
    codes = make_codes(dealer, 3)
    text = portal.get("/portal/codes/").content.decode()
    for code in codes:
        assert f'<code id="code-text-{code.pk}">{code.display}</code>' in text
        assert f'data-copy="code-text-{code.pk}"' in text
    whole = re.search(r'<pre id="page-codes" hidden>(.*?)</pre>', text, re.S).group(1)
    assert sorted(whole.split()) == sorted(c.display for c in codes)
    assert 'data-copy="page-codes"' in text


def test_only_unused_codes_can_be_ticked(portal, dealer, make_codes, activate, customer):
    unused, used = make_codes(dealer, 2)
    activate(used, customer)
    text = portal.get("/portal/codes/").content.decode()
    assert f'name="ids" value="{unused.pk}" form="bulk-revoke"' in text
    assert f'name="ids" value="{used.pk}" form="bulk-revoke"' not in text


def test_the_confirmation_names_the_codes_and_changes_nothing(portal, dealer, make_codes, activate,
                                                              customer):
    first, second, used = make_codes(dealer, 3)
    activate(used, customer)
    response = portal.post(CONFIRM, {"ids": [first.pk, second.pk, used.pk], "next": "/portal/codes/"})
    assert response.status_code == 200
    text = response.content.decode()
    assert first.display in text and second.display in text and used.display not in text
    assert "Revoke 2 codes?" in text
    assert "1 ticked code is no longer unused" in text
    assert _statuses([first, second]) == ["unused", "unused"]
    assert not AuditEvent.objects.filter(action="distribution.codes_revoked").exists()


def test_confirming_revokes_the_ticked_codes_once_audited(portal, dealer, make_codes):
    first, second, untouched = make_codes(dealer, 3)
    confirm = portal.post(CONFIRM, {"ids": [first.pk, second.pk], "next": "/portal/codes/"})
    posted = re.findall(r'name="ids" value="(\d+)"', confirm.content.decode())
    response = portal.post("/portal/codes/revoke/", {"ids": posted, "next": "/portal/codes/"},
                           follow=True)
    assert b"2 codes revoked." in response.content
    assert _statuses([first, second, untouched]) == ["revoked", "revoked", "unused"]
    event = AuditEvent.objects.get(action="distribution.codes_revoked", actor=dealer)
    assert event.details == {"ids": sorted([first.pk, second.pk]), "revoked": 2}


@pytest.mark.parametrize("data, message", [
    ({}, "Tick the codes to revoke first."),
    ({"ids": ""}, "Tick the codes to revoke first."),
    ({"ids": "abc"}, None),
    ({"ids": "-1"}, None),
])
def test_a_bad_selection_is_400_with_a_message(portal, dealer, data, message):
    response = portal.post(CONFIRM, data)
    assert response.status_code == 400
    assert b'class="msg error"' in response.content
    if message:
        assert message.encode() in response.content


def test_another_distributors_code_is_404_on_the_confirmation(portal, dealer, rival, make_codes):
    mine, theirs = make_codes(dealer)[0], make_codes(rival)[0]
    response = portal.post(CONFIRM, {"ids": [mine.pk, theirs.pk]})
    assert response.status_code == 404
    assert theirs.display.encode() not in response.content


def test_nothing_unused_is_409(portal, dealer, make_codes, activate, customer):
    used = activate(make_codes(dealer)[0], customer)
    response = portal.post(CONFIRM, {"ids": used.pk})
    assert response.status_code == 409
    assert b"Only unused codes can be revoked" in response.content


def test_the_confirmation_needs_a_post(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    assert portal.get(CONFIRM, {"ids": code.pk}).status_code == 405


def _queries(client, method, url, data=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return len(captured)


def test_the_list_and_the_confirmation_cost_the_same_queries_at_any_size(portal, dealer, make_codes,
                                                                        activate, customer):
    few = make_codes(dealer, 2)
    small = (_queries(portal, "get", "/portal/codes/"),
             _queries(portal, "post", CONFIRM, {"ids": [c.pk for c in few]}))
    more = make_codes(dealer, 40)
    activate(more[0], customer)
    large = (_queries(portal, "get", "/portal/codes/"),
             _queries(portal, "post", CONFIRM, {"ids": [c.pk for c in more[1:]]}))
    assert small == large
