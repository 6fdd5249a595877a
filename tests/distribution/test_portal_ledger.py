"""/portal/ledger/: every movement of the distributor's balance, newest first, paginated."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.billing import services as billing
from apps.billing.models import LedgerEntry
from apps.distribution import services
from apps.distribution.views import PAGE_SIZE


def row_of(text: str, entry: LedgerEntry) -> str:
    row = text[text.index(f'id="entry-{entry.pk}"'):]
    return row[:row.index("</tr>")]


def test_top_up_and_payment_show_with_the_balance_after(portal, funded, month):
    _codes, batch = services.generate_codes(actor=funded, plan=month, quantity=4)
    top_up, payment = LedgerEntry.objects.filter(wallet__owner=funded).order_by("pk")
    text = portal.get("/portal/ledger/").content.decode()
    assert "Balance now: <strong>¥859.60</strong>" in text
    top_row, pay_row = row_of(text, top_up), row_of(text, payment)
    assert "Top-up" in top_row and "¥1,000.00" in top_row and "bank transfer 1" in top_row
    assert "Payment" in pay_row and "-¥140.40" in pay_row and "¥859.60" in pay_row
    assert f'href="/portal/orders/{batch.number}/"' in pay_row
    assert text.index(f'id="entry-{payment.pk}"') < text.index(f'id="entry-{top_up.pk}"')


def test_nobody_elses_movements_show(portal, dealer, rival, superadmin):
    billing.top_up(actor=superadmin, user=rival, amount_fen=777, reference="rival's transfer")
    text = portal.get("/portal/ledger/").content.decode()
    assert "rival&#x27;s transfer" not in text and "¥7.77" not in text
    assert "No balance movements yet." in text


def test_the_ledger_pages_and_costs_the_same_queries_at_any_size(portal, dealer, superadmin):
    def queries(path="/portal/ledger/") -> int:
        with CaptureQueriesContext(connection) as captured:
            assert portal.get(path).status_code == 200
        return len(captured)

    billing.top_up(actor=superadmin, user=dealer, amount_fen=100, reference="first")
    few = queries()
    for n in range(PAGE_SIZE + 5):
        billing.top_up(actor=superadmin, user=dealer, amount_fen=100 + n, reference=f"t{n}")
    assert queries() == few
    second = portal.get("/portal/ledger/?page=2").content.decode()
    assert "first" in second and "Page 2 of 2" in second
