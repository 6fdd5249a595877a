"""/acl/: the customer's derpMap in three formats with copy and download buttons, the derpMap URL,
version and expiry, and how to use them; a refusal says what is missing."""

import json

import pytest

from apps.accounts.models import RentalState
from apps.acl.models import AclLog
from apps.distribution.models import ActivationCode
from tests.acl.conftest import give_rental
from tests.conftest import signed_in_client


def test_the_page_shows_three_formats_the_url_version_and_expiry(renter, relays):
    response = signed_in_client(renter).get("/acl/")
    assert response.status_code == 200
    page = response.content.decode()
    for fmt in ("tailscale", "headscale", "json"):
        assert f'id="derpmap-{fmt}"' in page and f'data-copy="derpmap-{fmt}"' in page
        assert f"/acl/download/{fmt}/?omit=1" in page
    context = response.context
    assert context["feed_url"] in page and "/acl/feed/" in context["feed_url"]
    assert [r["format"] for r in context["renderings"]] == ["tailscale", "headscale", "json"]
    assert context["current"].version == 1 and "Valid until" in page
    assert "Access controls" in page and "derp.paths" in page and "update_frequency" in page
    assert "<script src=\"http" not in page  # no CDN
    assert list(AclLog.objects.values_list("format", "version")) == [("page", 1)]


def test_the_tailscale_snippet_follows_the_omit_choice(renter, relays):
    client = signed_in_client(renter)
    for omit, expected in (("1", True), ("0", False)):
        rendering = client.get("/acl/", {"omit": omit}).context["renderings"][0]
        snippet = json.loads("{" + rendering["body"].rstrip().removesuffix(",") + "}")
        assert snippet["derpMap"]["OmitDefaultRegions"] is expected


@pytest.mark.parametrize(("change", "says"), [
    ("no_rental", "suspended: renew it"), ("unpaid", "a paid activation code")])
def test_a_refusal_says_what_is_missing_and_shows_nothing(renter, relays, change, says):
    if change == "no_rental":
        give_rental(renter, state=RentalState.SUSPENDED)
    else:
        ActivationCode.objects.filter(user=renter).update(paid=False)
    response = signed_in_client(renter).get("/acl/")
    assert response.status_code == 403
    page = response.content.decode()
    assert says in page and 'class="derpmap"' not in page
    assert not AclLog.objects.exists()


def test_the_download_link_serves_a_file_and_logs_it(renter, relays):
    response = signed_in_client(renter).get("/acl/download/headscale/", REMOTE_ADDR="198.51.100.77")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="derp-v1.yaml"'
    assert list(AclLog.objects.values_list("format", "ip")) == [("headscale", "198.51.100.77")]


def test_a_refused_download_link_shows_why(renter, relays):
    give_rental(renter, state=RentalState.NONE)
    response = signed_in_client(renter).get("/acl/download/json/")
    assert response.status_code == 403 and "an active rental" in response.content.decode()


def test_an_unknown_format_is_a_400(renter, relays):
    assert signed_in_client(renter).get("/acl/download/xml/").status_code == 400
    assert not AclLog.objects.exists()


@pytest.mark.parametrize("who", ["admin", "superadmin", "distributor"])
@pytest.mark.parametrize("url", ["/acl/", "/acl/devices/", "/acl/download/json/"])
def test_other_roles_find_nothing_here(personas, who, url):
    assert signed_in_client(personas[who]).get(url).status_code == 404


@pytest.mark.parametrize("url", ["/acl/", "/acl/devices/", "/acl/download/json/"])
def test_visitors_sign_in_first(db, anon_client, url):
    response = anon_client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_nav_links_the_page(renter):
    assert 'href="/acl/"' in signed_in_client(renter).get("/billing/orders/").content.decode()
