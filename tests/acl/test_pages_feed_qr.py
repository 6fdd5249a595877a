"""/acl/: the derpMap URL as a copyable text and a QR code (inline SVG, nothing the strict CSP
refuses), and the Headscale settings with that URL filled in, ready to copy."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.acl.models import Device
from derpmgr import qr
from tests.acl.conftest import node_key
from tests.conftest import signed_in_client
from tests.containers.conftest import make_server, relay


def test_the_feed_url_has_a_copy_button_and_its_qr_code(renter, relays):
    response = signed_in_client(renter).get("/acl/")
    page = response.content.decode()
    feed_url = response.context["feed_url"]
    assert f'<pre class="derpmap" id="derpmap-url">{feed_url}</pre>' in page
    assert 'data-copy="derpmap-url"' in page
    figure = re.search(r'<figure class="qr feed-qr">(.*?)<figcaption', page, re.S).group(1)
    assert figure.strip() == qr.svg(feed_url)  # the QR code of exactly this URL
    assert figure.strip().startswith("<svg") and "style" not in figure and "<script" not in figure


def test_a_new_url_gets_a_new_qr_code(renter, relays):
    client = signed_in_client(renter)
    before = client.get("/acl/").context["feed_url"]
    client.post("/acl/feed-url/rotate/")
    page = client.get("/acl/").content.decode()
    assert qr.svg(before) not in page


def test_the_headscale_settings_carry_the_feed_url(renter, relays):
    response = signed_in_client(renter).get("/acl/")
    page = response.content.decode()
    block = re.search(r'<pre class="derpmap" id="headscale-config">(.*?)</pre>', page, re.S).group(1)
    assert block.splitlines() == ["derp:", "  urls:", f"    - {response.context['feed_url']}",
                                  "  paths: []", "  auto_update_enabled: true",
                                  "  update_frequency: 1h"]
    assert 'data-copy="headscale-config"' in page
    assert "https://login.tailscale.com/admin/acls/file" in page


def test_a_refused_page_shows_no_url_and_no_qr_code(customer):
    page = signed_in_client(customer).get("/acl/").content.decode()
    assert "<svg" not in page and "/acl/feed/" not in page


def test_the_page_costs_the_same_queries_with_more_relays_and_devices(renter, servers):
    client = signed_in_client(renter)

    def queries() -> int:
        client.get("/acl/")  # a changed fleet issues a new version first: measure the steady page
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/acl/").status_code == 200
        return len(captured)

    relay(renter, servers[0])
    Device.objects.create(user=renter, name="laptop", node_key=node_key(1))
    few = queries()
    for server in servers[1:] + [make_server(name=f"relay-x{n}", cert_fingerprint=f"{n + 90:064x}")
                                 for n in range(3)]:
        relay(renter, server)
    for n in range(2, 7):
        Device.objects.create(user=renter, name=f"phone {n}", node_key=node_key(n))
    assert queries() == few
