"""/portal/codes.csv: the filtered list as a spreadsheet, safe to open in Excel or WPS."""

import csv
import io

from django.utils import timezone

from apps.billing.models import Plan
from apps.distribution.models import ActivationCode
from tests.factories import UserFactory

HEADER = ["Code", "Plan", "Status", "Paid", "Created", "Use before", "Activated by", "Activated", "Order"]


def download(client, **query):
    response = client.get("/portal/codes.csv", query)
    assert response.status_code == 200, response
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return response, list(csv.reader(io.StringIO(body)))


def test_a_dated_attachment_with_a_header_and_one_row_per_code(portal, dealer, make_codes, activate,
                                                                customer):
    used = activate(make_codes(dealer)[0], customer)
    fresh = make_codes(dealer)[0]
    response, rows = download(portal)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="derpmgr-codes-{today}.csv"'
    assert rows[0] == HEADER
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {used.display, fresh.display}
    assert by_code[used.display] == [
        used.display, "30 天", "Used", "no",
        timezone.localtime(used.created_at).strftime("%Y-%m-%d %H:%M"),
        timezone.localtime(used.expires_at).strftime("%Y-%m-%d %H:%M"),
        customer.email, timezone.localtime(used.used_at).strftime("%Y-%m-%d %H:%M"), used.order.number]
    assert by_code[fresh.display][2:4] == ["Unused", "no"]
    assert by_code[fresh.display][6:8] == ["", ""]


def test_the_export_follows_the_filters(portal, dealer, make_codes):
    live = make_codes(dealer)[0]
    lapsed = make_codes(dealer, lapsed=True)[0]
    _response, rows = download(portal, status="expired")
    assert [row[0] for row in rows[1:]] == [lapsed.display]
    assert rows[1][2] == "Expired"
    _response, rows = download(portal, q=live.display)
    assert [row[0] for row in rows[1:]] == [live.display]


def test_the_export_is_not_paginated(portal, dealer, make_codes):
    make_codes(dealer, 60)
    _response, rows = download(portal)
    assert len(rows) == 61


def test_another_distributors_codes_never_appear(portal, dealer, rival, make_codes):
    mine = make_codes(dealer)[0]
    theirs = make_codes(rival, 3)
    _response, rows = download(portal)
    assert [row[0] for row in rows[1:]] == [mine.display]
    _response, rows = download(portal, q=theirs[0].display)
    assert rows == [HEADER]


def test_cells_that_would_start_a_formula_are_quoted(portal, dealer, make_codes, activate):
    evil_plan = Plan.objects.create(name="=HYPERLINK(\"http://evil.example\",\"x\")", duration_days=7,
                                    price_fen=100)
    code = make_codes(dealer, plan=evil_plan)[0]
    activate(code, UserFactory(username="mallet", email="+cmd|' /C calc'!A0@example.com"))
    for start in ("-2+3@example.com", "@SUM(A1)@example.com"):
        activate(make_codes(dealer)[0], UserFactory(email=start))
    _response, rows = download(portal)
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells
    assert "'+cmd|' /C calc'!A0@example.com" in cells
    assert "'-2+3@example.com" in cells
    assert "'@SUM(A1)@example.com" in cells
    assert not any(cell[:1] in {"=", "+", "-", "@"} for cell in cells)


def test_a_bad_filter_is_400_with_a_message_and_no_rows(portal, dealer, make_codes):
    code = make_codes(dealer)[0]
    response = portal.get("/portal/codes.csv", {"created_from": "last week"})
    assert response.status_code == 400
    assert b"The filters are not valid" in response.content
    assert code.display.encode() not in response.content
    assert ActivationCode.objects.count() == 1
