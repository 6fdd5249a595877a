"""A real browser (Debian's Chromium driven by Playwright) against the panel on a live server.

Every test here is marked `browser` (scripts/test.sh runs them once, in the SQLite pass). With
CI=true a missing Chromium or Playwright fails them (tests/parts.py). A failing test leaves a
screenshot under data/test/screenshots/<test>.png and names it in its report. Console errors and
Content-Security-Policy violations are collected per page: `console_errors`.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests import parts

CHROMIUM = os.environ.get("DERPMGR_TEST_CHROMIUM", "/usr/bin/chromium")
# Debian's build, launched by path: Playwright's own browser download cannot work here.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
STEP_TIMEOUT_MS = 15_000  # per step; generous for a loaded 2-core machine


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if (report.failed and report.when == "call" and hasattr(page, "screenshot")
            and not page.is_closed()):
        path = screenshot_path(item.name)
        try:
            page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # the browser itself may be what failed
            report.sections.append(("screenshot", f"no screenshot: {exc}"))
        else:
            report.sections.append(("screenshot", f"{path} (of {page.url})"))  # in the report
    return report


def screenshot_path(test_name: str) -> Path:
    folder = Path(settings.DATA_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in test_name)
    return folder / f"{safe}.png"


def _playwright_ready() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


@pytest.fixture(scope="package")
def chromium():
    """One Chromium for the browser tests. Playwright's synchronous API keeps an event loop
    running on this thread while it lives, so Django's guard against the ORM inside a running
    loop is lifted for exactly that long (the tests here are synchronous code)."""
    parts.require(_playwright_ready(), f"Chromium ({CHROMIUM}) with Playwright for Python "
                                       "(apt-get install chromium; pip install -r requirements-dev.txt)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(Path(settings.DATA_DIR) / "screenshots", ignore_errors=True)  # only this run's
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    driver = sync_playwright().start()
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        driver.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def panel(live_server, settings):
    """The panel's address; the links it mails point there too."""
    settings.PANEL_URL = live_server.url
    return live_server.url


@pytest.fixture
def console_errors():
    """What the pages said went wrong: console errors (CSP violations among them) and uncaught
    exceptions, as "<url>: <text>"."""
    return []


@pytest.fixture
def browser_context(chromium, panel):
    context = chromium.new_context(base_url=panel, viewport=DESKTOP, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=panel)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(browser_context, console_errors):
    tab = browser_context.new_page()
    watch(tab, console_errors)
    return tab


def watch(tab, errors: list[str]) -> None:
    def on_console(message):
        if message.type == "error":
            source = message.location.get("url") or ""
            errors.append(f"{tab.url}: {message.text}" + (f" [{source}]" if source else ""))

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(f"{tab.url}: uncaught {exc}"))
