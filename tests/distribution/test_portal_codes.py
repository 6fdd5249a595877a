"""/portal/codes/: the distributor's own codes, filtered and paginated, with who activated each."""

from datetime import timedelta

from django.utils import timezone

from apps.billing.models import Plan
from apps.distribution.models import ActivationCode


def test_each_code_shows_its_plan_status_payment_dates_and_activating_user(
        portal, dealer, make_codes, activate, customer):
    used = activate(make_codes(dealer)[0], customer)
    fresh = make_codes(dealer)[0]
    text = portal.get("/portal/codes/").content.decode()
    row = text[text.index(f'id="code-{used.pk}"'):]
    row = row[:row.index("</tr>")]
    assert used.display in row
    assert "30 天" in row
    assert ">Used<" in row
    assert ">no<" in row
    assert customer.email in row
    assert timezone.localtime(used.used_at).strftime("%Y-%m-%d %H:%M") in row
    assert timezone.localtime(used.expires_at).strftime("%Y-%m-%d %H:%M") in row
    assert "Revoke" not in row
    fresh_row = text[text.index(f'id="code-{fresh.pk}"'):]
    assert "Revoke" in fresh_row[:fresh_row.index("</tr>")]


def test_another_distributors_codes_never_appear(portal, dealer, rival, make_codes):
    mine, theirs = make_codes(dealer)[0], make_codes(rival)[0]
    text = portal.get("/portal/codes/").content.decode()
    assert mine.display in text
    assert theirs.display not in text
    assert theirs.display not in portal.get("/portal/codes/", {"q": theirs.code}).content.decode()


def test_the_status_filter_uses_the_effective_status(portal, dealer, make_codes):
    live = make_codes(dealer)[0]
    lapsed = make_codes(dealer, lapsed=True)[0]
    unused = portal.get("/portal/codes/", {"status": "unused"}).content.decode()
    assert live.display in unused
    assert lapsed.display not in unused
    expired = portal.get("/portal/codes/", {"status": "expired"}).content.decode()
    assert lapsed.display in expired
    assert live.display not in expired
    assert 'data-status="expired"' in expired


def test_filter_by_plan(portal, dealer, make_codes):
    short = make_codes(dealer, plan=Plan.objects.get(duration_days=3))[0]
    long = make_codes(dealer, plan=Plan.objects.get(duration_days=360))[0]
    text = portal.get("/portal/codes/", {"plan": long.plan_id}).content.decode()
    assert long.display in text
    assert short.display not in text


def test_filter_by_creation_date(portal, dealer, make_codes):
    old, new = make_codes(dealer, 2)
    ActivationCode.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    text = portal.get("/portal/codes/", {"created_from": since}).content.decode()
    assert new.display in text
    assert old.display not in text
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    text = portal.get("/portal/codes/", {"created_to": until}).content.decode()
    assert old.display in text
    assert new.display not in text


def test_search_by_code_or_customer_email(portal, dealer, make_codes, activate, customer):
    used = activate(make_codes(dealer)[0], customer)
    other = make_codes(dealer)[0]
    by_email = portal.get("/portal/codes/", {"q": "alice@"}).content.decode()
    assert used.display in by_email
    assert other.display not in by_email
    by_code = portal.get("/portal/codes/", {"q": other.display[6:17].lower()}).content.decode()
    assert other.display in by_code
    assert used.display not in by_code


def test_a_bad_filter_is_400_with_the_error_and_no_codes(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    for query in ({"status": "stolen"}, {"created_from": "yesterday"}, {"plan": "abc"}):
        response = portal.get("/portal/codes/", query)
        assert response.status_code == 400
        assert b'class="error"' in response.content
        assert code.display.encode() not in response.content


def test_fifty_codes_a_page_and_the_pager_keeps_the_filters(portal, dealer, make_codes):
    make_codes(dealer, 51)
    first = portal.get("/portal/codes/", {"status": "unused"})
    assert first.content.decode().count("<tr id=\"code-") == 50
    assert b"Page 1 of 2" in first.content
    assert b"?status=unused&amp;page=2" in first.content
    second = portal.get("/portal/codes/", {"status": "unused", "page": "2"})
    assert second.content.decode().count("<tr id=\"code-") == 1
    assert b"51 codes" in second.content


def test_the_export_button_carries_the_filters_but_not_the_page(portal, dealer, make_codes):
    make_codes(dealer)
    text = portal.get("/portal/codes/", {"status": "unused", "page": "1"}).content.decode()
    assert 'action="/portal/codes/export/?status=unused"' in text
