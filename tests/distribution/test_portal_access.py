"""Every portal page is the distributor's alone: others get 404, anonymous visitors sign in."""

import pytest

from apps.billing.models import Order
from apps.distribution.models import ActivationCode
from tests.conftest import signed_in_client

PAGES = ["/portal/", "/portal/codes/", "/portal/codes/generate/",
         "/portal/orders/", "/portal/codes/generated/20240501-ABCDEF12/"]


@pytest.mark.parametrize("path", PAGES[:-1])
def test_a_distributor_opens_every_page(portal, path):
    assert portal.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES[:-1])
def test_a_distributor_without_a_tier_still_opens_every_page(distributor, path):
    assert signed_in_client(distributor).get(path).status_code == 200


@pytest.mark.parametrize("persona", ["superadmin", "admin", "user", "stranger"])
@pytest.mark.parametrize("path", PAGES)
def test_everyone_else_gets_404(personas, dealer, path, persona):
    response = signed_in_client(personas[persona]).get(path)
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["superadmin", "admin", "user", "stranger"])
def test_everyone_else_cannot_post_either(personas, dealer, make_codes, month, persona):
    code = make_codes(dealer)[0]
    client = signed_in_client(personas[persona])
    assert client.post("/portal/codes/generate/", {"plan": month.pk, "quantity": 1}).status_code == 404
    assert client.post("/portal/codes/generate/confirm/", {"review": "x"}).status_code == 404
    assert client.post("/portal/codes/revoke/", {"ids": code.pk}).status_code == 404
    code.refresh_from_db()
    assert code.status == "unused"
    assert ActivationCode.objects.count() == 1
    assert Order.objects.filter(kind="code_batch").count() == 1


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


def test_anonymous_posts_are_sent_to_sign_in_and_change_nothing(anon_client, dealer, make_codes, month):
    code = make_codes(dealer)[0]
    assert anon_client.post("/portal/codes/revoke/", {"ids": code.pk}).status_code == 302
    assert anon_client.post("/portal/codes/generate/", {"plan": month.pk}).status_code == 302
    assert anon_client.post("/portal/codes/generate/confirm/", {"review": "x"}).status_code == 302
    code.refresh_from_db()
    assert code.status == "unused"
    assert ActivationCode.objects.count() == 1
