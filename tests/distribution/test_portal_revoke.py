"""Revoke from the codes list: only the distributor's own unused codes, with a clear answer."""

from apps.audit.models import AuditEvent
from apps.distribution.models import ActivationCode


def test_revoke_an_unused_code_from_the_list(portal, dealer, make_codes):
    code, kept = make_codes(dealer, 2)
    back = "/portal/codes/?status=unused"
    response = portal.post("/portal/codes/revoke/", {"ids": code.pk, "next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert b"1 code revoked." in response.content
    code.refresh_from_db()
    kept.refresh_from_db()
    assert (code.status, kept.status) == ("revoked", "unused")
    assert code.revoked_at is not None
    assert code.display.encode() not in response.content  # the unused filter no longer shows it
    assert AuditEvent.objects.filter(action="distribution.codes_revoked", actor=dealer).exists()


def test_the_revoked_code_shows_as_revoked_without_a_button(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    portal.post("/portal/codes/revoke/", {"ids": code.pk})
    text = portal.get("/portal/codes/").content.decode()
    row = text[text.index(f'id="code-{code.pk}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-status="revoked"' in row
    assert "Revoke</button>" not in row


def test_a_used_code_stays_used_and_the_answer_is_409(portal, dealer, make_codes, activate, customer):
    used = activate(make_codes(dealer)[0], customer)
    response = portal.post("/portal/codes/revoke/", {"ids": used.pk})
    assert response.status_code == 409
    assert b"Only unused codes can be revoked" in response.content
    used.refresh_from_db()
    assert used.status == "used"


def test_another_distributors_code_is_404_and_untouched(portal, dealer, rival, make_codes):
    theirs = make_codes(rival)[0]
    response = portal.post("/portal/codes/revoke/", {"ids": theirs.pk})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "unused"


def test_bad_ids_are_400_and_change_nothing(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    for data in ({}, {"ids": "abc"}, {"ids": "-1"}, {"ids": ""}):
        response = portal.post("/portal/codes/revoke/", data)
        assert response.status_code == 400, data
        assert b'class="msg error"' in response.content
    assert ActivationCode.objects.get(pk=code.pk).status == "unused"


def test_an_unknown_id_is_404(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    response = portal.post("/portal/codes/revoke/", {"ids": [code.pk, 999999]})
    assert response.status_code == 404
    assert ActivationCode.objects.get(pk=code.pk).status == "unused"


def test_an_outside_next_is_ignored(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    response = portal.post("/portal/codes/revoke/", {"ids": code.pk, "next": "https://evil.example/"})
    assert response["Location"] == "/portal/codes/"


def test_revoking_needs_a_post(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    assert portal.get("/portal/codes/revoke/", {"ids": code.pk}).status_code == 405
    assert ActivationCode.objects.get(pk=code.pk).status == "unused"
