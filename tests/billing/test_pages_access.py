"""Who may open the commerce pages: customers; every other role gets 404; anonymous signs in."""

import pytest

from apps.billing.models import Order
from tests.conftest import signed_in_client

PAGES = ["/billing/activate/", "/billing/buy/", "/billing/orders/", "/billing/balance/",
         "/billing/summary/"]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("persona", ["user", "stranger"])
def test_customers_open_every_page(personas, persona, url):
    response = signed_in_client(personas[persona]).get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("persona", ["superadmin", "admin", "distributor"])
def test_every_other_role_gets_404(personas, persona, url):
    assert signed_in_client(personas[persona]).get(url).status_code == 404


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_sign_in(anon_client, url):
    response = anon_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("persona", ["superadmin", "admin", "distributor"])
def test_other_roles_cannot_post_either(personas, persona, make_code, fund):
    someone = personas[persona]
    fund(someone, 100_00)
    code = make_code()
    client = signed_in_client(someone)

    assert client.post("/billing/activate/", {"code": code.display}).status_code == 404
    assert client.post("/billing/buy/", {"plan": 1, "action": "pay"}).status_code == 404

    code.refresh_from_db()
    assert code.status == "unused"
    assert not Order.objects.filter(buyer=someone).exclude(kind="top_up").exists()


def test_anonymous_posts_change_nothing(anon_client, make_code):
    code = make_code()
    response = anon_client.post("/billing/activate/", {"code": code.display})
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.status == "unused"


def test_the_customer_menu_links_every_page(page):
    body = page.get("/accounts/me/").content.decode()
    for url in ["/billing/activate/", "/billing/buy/", "/billing/orders/", "/billing/balance/"]:
        assert f'href="{url}"' in body
