"""Traffic on the pages: the server list and a server's page show used this month, remaining (a
bar), total and the current rate, and a chart of the last 24 hours or 30 days; relay rows show
received, sent and rate; a customer sees their month and 30 days on their home page; operators
see the top customers and servers. Before anything is sampled the pages say so, not zeros."""

import pytest

from apps.traffic.models import Resolution
from tests.conftest import signed_in_client
from tests.traffic.conftest import GB, customer_days, server_hours

STAFF = ["superadmin", "admin"]
OTHERS = ["distributor", "user", "stranger"]


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_server_list_shows_the_month_the_remaining_quota_and_the_rate(admin_user,
                                                                          sampled_server):
    page = text(signed_in_client(admin_user).get("/ops/servers/"))

    assert "300.0\xa0GB" in page  # used this month
    assert "700.0\xa0GB" in page  # remaining
    assert "900.0\xa0GB" in page  # total
    assert "12.5 Mbit/s" in page
    assert 'class="quota-bar ' in page and 'x2="30" ' in page


def test_a_server_not_sampled_yet_says_so(admin_user, make_server):
    make_server("fresh")
    page = text(signed_in_client(admin_user).get("/ops/servers/"))

    assert "No data yet" in page
    assert "0\xa0bytes" not in page.split('id="servers"')[1]


def test_the_server_page_charts_the_last_24_hours_and_30_days(admin_user, sampled_server):
    server_hours(sampled_server, {1: 2 * GB, 5: GB})
    server_hours(sampled_server, {2: 40 * GB, 10: 20 * GB}, resolution=Resolution.DAY)
    client = signed_in_client(admin_user)

    day = text(client.get(f"/ops/servers/{sampled_server.pk}/"))
    month = text(client.get(f"/ops/servers/{sampled_server.pk}/?traffic=30d"))

    section = day.split('id="server-traffic"')[1].split("</section>")[0]
    assert section.count("<rect") == 2 and "Traffic, last 24 hours (hourly)" in section
    assert "12.5 Mbit/s" in section and "300.0\xa0GB" in section
    month_section = month.split('id="server-traffic"')[1].split("</section>")[0]
    assert month_section.count("<rect") == 2 and "Traffic, last 30 days (daily)" in month_section


def test_a_server_without_samples_in_the_period_shows_no_chart(admin_user, make_server):
    server = make_server("quiet")
    page = text(signed_in_client(admin_user).get(f"/ops/servers/{server.pk}/?traffic=bogus"))

    section = page.split('id="server-traffic"')[1].split("</section>")[0]
    assert "<svg" not in section
    assert "No traffic sampled in this period yet." in section
    assert "No data yet" in section


def test_relay_rows_show_received_sent_and_rate(admin_user, customer, sampled_server,
                                                place_relay):
    relay = place_relay(customer, sampled_server)
    relay.rx_bytes, relay.tx_bytes, relay.rate_bps = 3 * GB, 5 * GB, 2_000_000
    relay.last_sample_at = sampled_server.last_sample_at
    relay.save()
    page = text(signed_in_client(admin_user).get(f"/ops/servers/{sampled_server.pk}/"))

    relays = page.split('id="relays"')[1]
    row = relays.split(f'data-instance-id="{relay.pk}"')[1].split("</tr>")[0]
    assert "3.0\xa0GB" in row and "5.0\xa0GB" in row and "2 Mbit/s" in row


def test_a_customer_sees_their_month_and_30_days(customer, stranger):
    customer_days(customer, {0: 2 * GB, 1: GB})
    customer_days(stranger, {0: 99 * GB})
    page = text(signed_in_client(customer).get("/accounts/me/"))

    section = page.split('id="my-traffic"')[1].split("</section>")[0]
    assert section.count("<rect") == 2
    assert "99.0\xa0GB" not in page


def test_a_customer_without_traffic_is_told_none_was_measured(customer):
    page = text(signed_in_client(customer).get("/accounts/me/"))

    section = page.split('id="my-traffic"')[1].split("</section>")[0]
    assert "No traffic measured yet." in section and "<svg" not in section


@pytest.mark.parametrize("persona", STAFF)
def test_operators_see_the_top_customers_and_servers(personas, persona, sampled_server,
                                                     make_server):
    customer_days(personas["user"], {0: 5 * GB})
    customer_days(personas["stranger"], {0: 9 * GB})
    make_server("idle")
    page = text(signed_in_client(personas[persona]).get("/ops/traffic/"))

    customers = page.split('id="top-customers"')[1].split("</section>")[0]
    assert customers.index(personas["stranger"].email) < customers.index(personas["user"].email)
    assert "9.0\xa0GB" in customers
    servers = page.split('id="top-servers"')[1]
    assert "sh-traffic" in servers and "idle" not in servers


def test_the_ops_traffic_page_with_nothing_measured(admin_user):
    page = text(signed_in_client(admin_user).get("/ops/traffic/"))

    assert page.count("No traffic measured this month yet.") == 2


@pytest.mark.parametrize("persona", OTHERS)
def test_nobody_else_sees_the_ops_traffic_page(personas, persona):
    customer_days(personas["user"], {0: 5 * GB})

    response = signed_in_client(personas[persona]).get("/ops/traffic/")

    assert response.status_code == 404
    page = response.content.decode()
    # The customer's own address is on their pages ("signed in as"); anyone else's never is.
    others_address = personas["user"].email in page and persona != "user"
    assert not others_address and "5.0\xa0GB" not in page  # nor their traffic


def test_anonymous_visitors_are_sent_to_sign_in(anon_client):
    response = anon_client.get("/ops/traffic/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_customers_relay_rows_show_their_traffic(customer, stranger, sampled_server,
                                                   place_relay):
    mine = place_relay(customer, sampled_server)
    mine.rx_bytes, mine.tx_bytes, mine.rate_bps = 4 * GB, 6 * GB, 3_000_000
    mine.last_sample_at = sampled_server.last_sample_at
    mine.save()
    theirs = place_relay(stranger, sampled_server, port=sampled_server.port_range_start + 1)
    theirs.rx_bytes, theirs.last_sample_at = 77 * GB, sampled_server.last_sample_at
    theirs.save()

    page = text(signed_in_client(customer).get("/relays/mine/"))

    assert "4.0\xa0GB" in page and "6.0\xa0GB" in page and "3 Mbit/s" in page
    assert "77.0\xa0GB" not in page
