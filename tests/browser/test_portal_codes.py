"""A distributor, in the browser: copies one code and the whole page with the buttons, then
revokes two ticked codes after the confirmation step names them."""

import pytest

from apps.distribution import services
from apps.distribution.models import ActivationCode
from tests.browser import support


@pytest.fixture
def codes(distributor, admin_user):
    support.distributor_profile(distributor, owner=admin_user)
    batch, _order = services.generate_codes(actor=distributor, plan=support.plan(30), quantity=3,
                                            pay_with_balance=False)
    return sorted(batch, key=lambda code: code.pk)


def test_copying_codes_and_revoking_the_ticked_ones(page, panel, distributor, codes, console_errors):
    support.sign_in(page.context, distributor, panel=panel)
    page.goto("/portal/codes/")

    first = codes[0]
    page.click(f"[data-copy='code-text-{first.pk}']")
    page.wait_for_selector(f"#code-{first.pk} .copied:not([hidden])")
    assert page.evaluate("navigator.clipboard.readText()") == first.display
    page.click("[data-copy='page-codes']")
    assert sorted(page.evaluate("navigator.clipboard.readText()").split()) == sorted(
        code.display for code in codes)

    for code in codes[:2]:
        page.check(f"#code-{code.pk} input[name=ids]")
    page.click("#bulk-revoke button[type=submit]")
    page.wait_for_url("**/portal/codes/revoke/confirm/")
    assert page.locator(".revoke-codes code").all_inner_texts() == [c.display for c in codes[:2]]
    page.click("main form button.danger")
    page.wait_for_url("**/portal/codes/")
    assert "2 codes revoked." in page.inner_text("main")
    assert [ActivationCode.objects.get(pk=c.pk).status for c in codes] == ["revoked", "revoked",
                                                                           "unused"]
    assert console_errors == []
