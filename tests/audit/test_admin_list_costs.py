"""Admin lists cost the same however long the table: the date hierarchy is drawn from the first
and last row (not the distinct dates of every row), no second count of the whole table is run
beside a filtered one, and on PostgreSQL the whole list of a large table shows the planner's
estimate of its size instead of counting it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from derpmgr import admin_lists
from tests.conftest import signed_in_client

LIST = "/admin/audit/auditevent/"


@pytest.fixture
def staff(superadmin):
    return signed_in_client(superadmin)


def hierarchy(response) -> list[str]:
    """The links of the date hierarchy, as the page shows them."""
    part = re.search(r'<nav class="toplinks">.*?</nav>',
                     response.content.decode(), re.S)
    assert part, "no date hierarchy on the page"
    return [text.strip() for text in re.findall(r"<a[^>]*>([^<]+)</a>", part.group(0))]


def fetch(client, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, data or {})
    assert response.status_code == 200
    return response, [query["sql"] for query in captured]


def test_the_years_run_from_the_first_row_to_the_last(staff, make_event):
    make_event(when="2022-03-01 10:00")
    make_event(when="2024-11-30 10:00")
    response, statements = fetch(staff)
    assert hierarchy(response) == ["2022", "2023", "2024"]
    assert not any("DISTINCT" in sql.upper() for sql in statements)


def test_a_year_offers_its_months_between_its_first_and_last_row(staff, make_event):
    make_event(when="2024-02-10 10:00")
    make_event(when="2024-04-20 10:00")
    make_event(when="2025-01-01 10:00")
    response, statements = fetch(staff, {"created_at__year": "2024"})
    assert hierarchy(response)[-3:] == ["February 2024", "March 2024", "April 2024"]
    assert not any("DISTINCT" in sql.upper() for sql in statements)
    response, _statements = fetch(staff, {"created_at__year": "2024", "created_at__month": "4"})
    assert hierarchy(response)[-1] == "April 20"


def test_a_filtered_list_is_not_counted_twice(staff, make_event):
    for _n in range(3):
        make_event("accounts.login")
    make_event("servers.added")
    response, statements = fetch(staff, {"action": "servers.added"})
    counts = [sql for sql in statements if "COUNT(" in sql.upper()]
    assert len(counts) == 1 and "servers.added" in counts[0]
    assert "4 total" not in response.content.decode()


def test_the_queries_do_not_grow_with_the_table(staff, make_event):
    for day in range(1, 4):
        make_event(when=f"2024-05-0{day} 12:00")
    _response, small = fetch(staff)
    for month in range(1, 13):
        for day in range(1, 6):
            make_event(when=f"2023-{month:02d}-0{day} 12:00")
    _response, large = fetch(staff)
    assert len(large) == len(small)


@pytest.mark.postgres
def test_the_whole_list_of_a_large_table_shows_the_estimate_not_a_count(staff, make_event,
                                                                       monkeypatch):
    for _n in range(30):
        make_event()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")
    monkeypatch.setattr(admin_lists, "ESTIMATE_ABOVE", 10)
    response, statements = fetch(staff)
    assert not any("COUNT(" in sql.upper() for sql in statements)
    assert "30 audit events" in response.content.decode()
    _response, statements = fetch(staff, {"q": "nothing"})
    assert any("COUNT(" in sql.upper() for sql in statements)


def test_only_the_whole_of_a_postgresql_table_is_estimated(db):
    estimate = admin_lists._table_estimate(AuditEvent.objects.all())
    if connection.vendor == "postgresql":
        assert isinstance(estimate, int)
    else:
        assert estimate is None
    assert admin_lists._table_estimate(AuditEvent.objects.filter(action="x")) is None


@pytest.mark.parametrize("path", ["/admin/audit/auditevent/", "/admin/notifications/outboundemail/"])
def test_the_filters_offer_their_choices_without_reading_the_table(staff, path):
    with CaptureQueriesContext(connection) as captured:
        response = staff.get(path)
    assert response.status_code == 200
    assert not [q for q in captured if "DISTINCT" in q["sql"].upper()]


def test_the_audit_log_filters_by_area_and_target_type(staff, make_event, superadmin):
    make_event("servers.added")
    make_event("accounts.login", target=superadmin)
    response = staff.get(LIST, {"area": "servers"})
    assert [e.action for e in response.context["cl"].result_list] == ["servers.added"]
    response = staff.get(LIST, {"target_type": "accounts.user"})
    assert [e.action for e in response.context["cl"].result_list] == ["accounts.login"]


def test_the_mail_list_filters_by_template(staff):
    from apps.notifications.models import OutboundEmail, Recipient

    for to, template in (("a@example.com", "verify-email"), ("b@example.com", "password-reset")):
        OutboundEmail.objects.create(recipient=Recipient.objects.create(address=to), to=to,
                                     subject="s", template=template)
    response = staff.get("/admin/notifications/outboundemail/", {"template": "verify-email"})
    assert [m.to for m in response.context["cl"].result_list] == ["a@example.com"]
    assert "?template=password-reset" in response.content.decode()
