"""Exporting the codes list: the portal asks, a worker writes the CSV, the page then offers the
file to the distributor who asked and to nobody else. The file is the filtered list, whole, safe
to open in Excel or WPS. No web request reads the 20,000 rows."""

import csv
import io
import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.billing.models import Plan
from apps.distribution.models import ActivationCode
from apps.operations import exports
from apps.operations.models import Operation, OperationKind, OperationState
from tests.conftest import signed_in_client
from tests.factories import UserFactory

HEADER = ["Code", "Plan", "Status", "Paid", "Created", "Use before", "Activated by", "Activated", "Order"]


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


def ask(client, **query) -> Operation:
    """Press "Export as CSV" on the codes page filtered by `query`; return the export queued."""
    before = set(Operation.objects.values_list("pk", flat=True))
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    response = client.post(f"/portal/codes/export/{suffix}")
    operation = Operation.objects.exclude(pk__in=before).get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/exports/{operation.pk}/"
    return operation


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def export(client, run_operations, **query):
    """Ask, let a worker write it, download it: (the download, its rows)."""
    operation = ask(client, **query)
    assert run_operations() >= 1
    response = client.get(f"/portal/exports/{operation.pk}/download/")
    assert response.status_code == 200
    return response, rows_of(response)


def test_asking_queues_an_export_and_the_page_follows_it_until_the_link_shows(portal, dealer,
                                                                              make_codes,
                                                                              run_operations):
    make_codes(dealer, 2)
    operation = ask(portal)

    assert operation.kind == OperationKind.EXPORT and operation.state == OperationState.QUEUED
    assert operation.requested_by == dealer
    assert AuditEvent.objects.filter(action="operations.requested", actor=dealer).exists()
    waiting = portal.get(f"/portal/exports/{operation.pk}/").content.decode()
    assert "being written" in waiting and 'hx-trigger="every 2s"' in waiting
    assert "/download/" not in waiting

    run_operations()

    ready = portal.get(f"/portal/exports/{operation.pk}/", headers={"HX-Request": "true"})
    assert "2 codes are ready." in ready.content.decode()
    assert f'href="/portal/exports/{operation.pk}/download/"' in ready.content.decode()
    assert "hx-trigger" not in ready.content.decode()


def test_a_dated_attachment_with_a_header_and_one_row_per_code(portal, dealer, make_codes, activate,
                                                                customer, run_operations):
    used = activate(make_codes(dealer)[0], customer)
    fresh = make_codes(dealer)[0]
    response, rows = export(portal, run_operations)
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


def test_the_export_follows_the_filters(portal, dealer, make_codes, run_operations):
    live = make_codes(dealer)[0]
    lapsed = make_codes(dealer, lapsed=True)[0]
    _response, rows = export(portal, run_operations, status="expired")
    assert [row[0] for row in rows[1:]] == [lapsed.display]
    assert rows[1][2] == "Expired"
    _response, rows = export(portal, run_operations, q=live.display)
    assert [row[0] for row in rows[1:]] == [live.display]


def test_the_export_is_the_whole_list_not_a_page(portal, dealer, make_codes, run_operations):
    make_codes(dealer, 60)
    _response, rows = export(portal, run_operations, page=2)
    assert len(rows) == 61


def test_the_rows_are_read_in_chunks_not_one_query_per_code(portal, dealer, make_codes):
    from apps.operations import services as operations

    make_codes(dealer, 5)
    small = ask(portal)
    with CaptureQueriesContext(connection) as few:
        operations.execute(small.pk)
    make_codes(dealer, 60)
    large = ask(portal)
    with CaptureQueriesContext(connection) as many:
        operations.execute(large.pk)
    assert Operation.objects.get(pk=large.pk).result["rows"] == 65
    assert len(many) == len(few)


def test_another_distributors_codes_never_appear(portal, dealer, rival, make_codes, run_operations):
    mine = make_codes(dealer)[0]
    theirs = make_codes(rival, 3)
    _response, rows = export(portal, run_operations)
    assert [row[0] for row in rows[1:]] == [mine.display]
    _response, rows = export(portal, run_operations, q=theirs[0].display)
    assert rows == [HEADER]


def test_only_who_asked_sees_or_downloads_the_export(portal, dealer, rival, make_codes, admin_user,
                                                     superadmin, customer, run_operations):
    make_codes(dealer)
    operation = ask(portal)
    run_operations()
    for other in (rival, admin_user, superadmin, customer):
        client = signed_in_client(other)
        for path in (f"/portal/exports/{operation.pk}/", f"/portal/exports/{operation.pk}/download/"):
            assert client.get(path).status_code == 404, (other, path)
    anonymous = signed_in_client(customer)
    anonymous.logout()
    assert anonymous.get(f"/portal/exports/{operation.pk}/download/").status_code == 302


def test_other_operations_are_not_exports(portal, dealer, run_operations):
    from apps.operations import services as operations

    probe = operations.enqueue(OperationKind.PROBE, actor=dealer, customer=dealer)
    assert portal.get(f"/portal/exports/{probe.pk}/").status_code == 404
    assert portal.get("/portal/exports/999999/download/").status_code == 404


def test_the_file_is_private_to_the_panel_and_deleted_after_its_time(portal, dealer, make_codes,
                                                                      run_operations, export_dir,
                                                                      settings):
    make_codes(dealer)
    operation = ask(portal)
    run_operations()
    operation.refresh_from_db()
    path = export_dir / operation.result["file"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert exports.delete_expired() == 0

    old = path.stat().st_mtime - settings.EXPORT_KEEP_HOURS * 3600 - 1
    os.utime(path, (old, old))
    assert exports.delete_expired() == 1
    assert not path.exists()
    assert portal.get(f"/portal/exports/{operation.pk}/download/").status_code == 404
    assert "export the list again" in portal.get(f"/portal/exports/{operation.pk}/").content.decode()


def test_cells_that_would_start_a_formula_are_quoted(portal, dealer, make_codes, activate,
                                                     run_operations):
    evil_plan = Plan.objects.create(name="=HYPERLINK(\"http://evil.example\",\"x\")", duration_days=7,
                                    price_fen=100)
    code = make_codes(dealer, plan=evil_plan)[0]
    activate(code, UserFactory(username="mallet", email="+cmd|' /C calc'!A0@example.com"))
    for start in ("-2+3@example.com", "@SUM(A1)@example.com"):
        activate(make_codes(dealer)[0], UserFactory(email=start))
    _response, rows = export(portal, run_operations)
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells
    assert "'+cmd|' /C calc'!A0@example.com" in cells
    assert "'-2+3@example.com" in cells
    assert "'@SUM(A1)@example.com" in cells
    assert not any(cell[:1] in {"=", "+", "-", "@"} for cell in cells)


def test_a_bad_filter_is_400_with_a_message_and_nothing_queued(portal, dealer, make_codes):
    make_codes(dealer)
    response = portal.post("/portal/codes/export/?created_from=last+week")
    assert response.status_code == 400
    assert "The filters are not valid" in response.content.decode()
    assert not Operation.objects.filter(kind=OperationKind.EXPORT).exists()
    assert ActivationCode.objects.count() == 1


def test_asking_needs_a_post_and_a_distributor(portal, customer, admin_user):
    assert portal.get("/portal/codes/export/").status_code == 405
    for other in (customer, admin_user):
        assert signed_in_client(other).post("/portal/codes/export/").status_code == 404
    assert not Operation.objects.filter(kind=OperationKind.EXPORT).exists()
