"""Each persona's main pages on a phone (390 px wide, then 360 px, in Chinese): nothing scrolls
sideways and the browser reports no error (console errors, CSP violations, uncaught exceptions).

One test per persona walks all of its pages and reports every page that fails, with the elements
that stick out and a screenshot of each (data/test/screenshots/phone-<persona>-<page>.png)."""

import pytest

from apps.acl import services as acl
from apps.billing import services as billing
from apps.distribution import services as distribution
from apps.operations import services as operations
from apps.operations.models import Operation
from apps.servers.models import Server
from tests.browser import support
from tests.browser.conftest import PHONE, STEP_TIMEOUT_MS, screenshot_path, watch

# The elements whose right edge lies past the viewport, innermost first, as short CSS paths.
STICKING_OUT = """(width) => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 0.5 && box.width > 0 && ![...el.children].some(
        c => c.getBoundingClientRect().right > width + 0.5)) {
      let name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.classList.length ? '.' + [...el.classList].join('.') : '');
      const parent = el.parentElement;
      if (parent && parent !== document.body) name = parent.tagName.toLowerCase()
        + (parent.classList.length ? '.' + [...parent.classList].join('.') : '') + ' > ' + name;
      out.push(name + ' (right ' + Math.round(box.right) + 'px)');
    }
  }
  return [...new Set(out)].slice(0, 6);
}"""

# The phone of the browser tests, then the narrowest width the shell promises (issue 13).
WIDTHS = (PHONE["width"], 360)

CUSTOMER_PAGES = ["/accounts/me/", "/acl/", "/acl/devices/", "/relays/mine/", "/billing/activate/",
                  "/billing/buy/", "/billing/orders/", "/billing/balance/", "/accounts/profile/"]
DISTRIBUTOR_PAGES = ["/portal/", "/portal/codes/", "/portal/codes/generate/", "/portal/orders/",
                     "/accounts/profile/"]
ANONYMOUS_PAGES = ["/accounts/login/", "/accounts/register/", "/accounts/password/reset/"]


@pytest.fixture
def world(customer, distributor, admin_user, superadmin, fake_engine, run_operations, monkeypatch):
    """A small business: a customer with relays and a device, a distributor with a batch of
    codes, servers and tasks for the operators."""
    monkeypatch.setattr(operations, "send", lambda operation_id, **kw: True)
    for n in (1, 2, 3):
        support.server(f"relay-{n}")
    month = support.plan(30, name="包月 Month", servers_per_rental=2)
    distribution.redeem(user=customer, raw_code=support.code_for(month, made_by=superadmin).code)
    run_operations()
    acl.add_device(user=customer, name="laptop", node_key="nodekey:" + "cd" * 32)
    billing.top_up(actor=superadmin, user=customer, amount_fen=5000, reference="bank 7")
    support.distributor_profile(distributor, owner=admin_user)
    billing.top_up(actor=superadmin, user=distributor, amount_fen=100_000, reference="bank 8")
    distribution.generate_codes(actor=distributor, plan=month, quantity=5)
    server, task = Server.objects.order_by("pk").first(), Operation.objects.order_by("pk").first()
    return {
        "customer": (customer, CUSTOMER_PAGES),
        "distributor": (distributor, DISTRIBUTOR_PAGES),
        "admin": (admin_user, ["/ops/", "/ops/servers/", f"/ops/servers/{server.pk}/",
                               "/ops/operations/", f"/ops/operations/{task.pk}/",
                               f"/ops/customers/{customer.pk}/", "/ops/alerts/", "/ops/load/",
                               "/ops/traffic/", "/ops/audit/", "/accounts/profile/"]),
        "superadmin": (superadmin, ["/ops/finance/", "/ops/servers/add/", "/admin/",
                                    "/admin/accounts/user/", f"/admin/accounts/user/{customer.pk}/change/"]),
        "anonymous": (None, ANONYMOUS_PAGES),
    }


def test_each_personas_main_pages_fit_a_phone_without_errors(world, chromium, panel):
    problems = {}
    for persona, (user, paths) in world.items():
        context = chromium.new_context(base_url=panel, viewport=PHONE, is_mobile=True,
                                       has_touch=True, locale="zh-CN")
        context.set_default_timeout(STEP_TIMEOUT_MS)
        if user is not None:
            support.sign_in(context, user, panel=panel)
        try:
            for path in paths:
                found = check_page(context, path, shot=f"phone-{persona}{path}")
                if found:
                    problems[f"{persona} {path}"] = found
        finally:
            context.close()
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(found)
                                    for where, found in problems.items())


def check_page(context, path: str, *, shot: str) -> list[str]:
    """What is wrong with the page at `path` on this phone: its status, sideways scrolling (with
    the elements that stick out), what the browser reported; a screenshot if anything."""
    page, errors = context.new_page(), []
    watch(page, errors)
    try:
        response = page.goto(path, wait_until="load")
        found = [] if response.status == 200 else [f"HTTP {response.status} at {page.url}"]
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": PHONE["height"]})
            wide = page.evaluate("document.scrollingElement.scrollWidth")
            if wide > width:
                found.append(f"at {width} px it scrolls sideways ({wide} px wide): "
                             + "; ".join(page.evaluate(STICKING_OUT, width)))
                break  # the screenshot shows it at this width
        found += errors
        if found:
            path_ = screenshot_path(shot.replace("/", "-").rstrip("-"))
            page.screenshot(path=str(path_), full_page=True)
            found.append(f"screenshot: {path_}")
        return found
    finally:
        page.close()
