"""Every page a person sees speaks Chinese by default: each persona's pages (the Django admin
included) are read as a browser shows them under zh-hans, and any English left is a failure.

What may stay Latin: product and protocol names (DERP, Tailscale, SSH...), and data — strings
with digits or punctuation (codes, keys, addresses, the world's `mx-…` names), option lists whose
labels are their own values (time zones), and the few plain words the world's data uses."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.utils import translation

from tests.project.matrix_routes import ALL_ROWS
from tests.project.matrix_world import PERSONAS
from tests.project.test_authorization_matrix import ask, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def only_this_worlds_records_in_the_panels_language(db):
    """Labels are stored as written when recorded (an audit event's target, an operation's
    kind, an order's): this world's are made in the panel's default language whatever an
    earlier test left active in this thread, and records other tests' background threads
    committed after their own clean-up are set aside (inside this test's transaction, rolled
    back after it). Autouse: set up before the world."""
    from apps.audit.models import AuditEvent
    from apps.billing.models import Commission, CommissionSettlement, LedgerEntry, Order
    from apps.monitoring.models import Alert
    from apps.notifications.models import OutboundEmail
    from apps.operations.models import Operation

    AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)  # append-only outside tests
    for model in (Operation, Alert, OutboundEmail, Commission, CommissionSettlement,
                  LedgerEntry, Order):
        model.objects.all()._raw_delete(model.objects.db)
    with translation.override(settings.LANGUAGE_CODE):
        yield

NAMES = {
    # Products, protocols, formats and units that are written in Latin letters in Chinese too.
    "DERP", "derp", "derper", "derpMap", "DERPMap", "derpmgr", "Tailscale", "Headscale", "OpenSSH",
    "SSH", "ACL", "API", "JSON", "YAML", "CSV", "PEM", "URL", "HTTP", "HTTPS", "TLS", "TCP", "UDP",
    "STUN", "CPU", "UTC", "AMQP", "http", "Ping", "TOTP", "SHA", "IPv4", "IPv6", "GeoIP", "Celery",
    "Redis", "Docker",
    "Podman", "Webhook", "webhook", "English", "nodekey", "ssh-keygen", "PublicKey", "Self",
    "tailscale", "status", "json", "Cron", "crontab", "ID", "IP", "ms", "GB", "MB", "KB", "ping",
    # Tailscale's admin console and policy file have no Chinese: their labels are quoted as shown.
    "Access", "controls", "Machines", "tailnet", "true",
    # Keys on the keyboard, as Django's Chinese catalogue writes them.
    "Control", "Command", "Mac",
}
# Django's admin writes these into alt attributes untranslated (Python literals, a search icon).
UNTRANSLATED_BY_DJANGO = {"True", "False", "None", "Search", "Unknown"}
WORLD_DATA = {"laptop", "bank", "disk", "of", "backup", "phone", "MATRIX"}  # matrix_world's own strings
SYSTEM_NAMES = {"root"}  # the Unix account a server is reached as
_SKIPPED = {"script", "style", "code", "pre", "textarea", "kbd", "samp"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


class VisibleText(HTMLParser):
    """The text of a page as read: element text and the attributes people see, without code
    blocks and without options that are their own value (data, not labels)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skipping = 0
        self.option_value = None
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in _SKIPPED:
            self.skipping += 1
        if tag == "option":
            self.option_value = attributes.get("value") or ""
        for name in ("title", "placeholder", "aria-label"):
            if attributes.get(name):
                self.parts.append(attributes[name])
        if attributes.get("alt") and attributes["alt"] not in UNTRANSLATED_BY_DJANGO:
            self.parts.append(attributes["alt"])
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in _SKIPPED and self.skipping:
            self.skipping -= 1
        if tag == "option":
            self.option_value = None

    def handle_data(self, data):
        if self.skipping or (self.option_value is not None
                             and data.strip() == self.option_value.replace("_", " ")):
            return
        self.parts.append(data)


def english_in(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    found = set()
    for part in parser.parts:
        for token in part.split():
            if re.search(r"[0-9@/:._\-=#*]", token) or re.search(r"[a-z][A-Z]|[A-Z]{2}[a-z]", token):
                continue  # data: codes, keys, addresses, token prefixes, names of the world
            for word in _WORD.findall(token):
                if word not in NAMES | WORLD_DATA | SYSTEM_NAMES and len(word) > 1:
                    found.add(word)
    return found


# Pages whose text is other people's words: e-mails are written in their recipient's language.
OTHER_PEOPLES_WORDS = ("admin/notifications/outboundemail/",)
# The admin's breadcrumbs name a group by its stored name, which for a role group is the role's
# code (the roles find their group by it); the page itself names the role in words.
ROLE_CODES_IN_BREADCRUMBS = ("admin/auth/group/<path:object_id>/", {"admin", "superadmin"})


def english_on_pages(the_world, persona) -> list[str]:
    the_world.pages[persona].defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    problems = []
    for row in ALL_ROWS:
        if row.api or row.method != "get" or row.expect[persona] != 200 \
                or row.pattern.startswith(OTHER_PEOPLES_WORDS):
            continue
        response, body, _changed = ask(the_world, row, persona)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        words = english_in(body)
        if row.pattern.startswith(ROLE_CODES_IN_BREADCRUMBS[0]):
            words -= ROLE_CODES_IN_BREADCRUMBS[1]
        if words:
            problems.append(f"{row.name} as {persona}: {' '.join(sorted(words))}")
    return problems


def test_every_page_of_every_persona_speaks_chinese(world):  # noqa: F811
    problems = [problem for persona in PERSONAS for problem in english_on_pages(world, persona)]
    assert not problems, "English left on zh-hans pages:\n" + "\n".join(problems)


def test_the_reader_finds_english_where_there_is_some():
    assert english_in("<p>请 <b>Sign in</b></p>") == {"Sign", "in"}
    assert english_in("<p>节点 <code>tailscale up --login</code> nodekey:ab12 mx-host</p>") == set()
    assert english_in('<select><option value="Asia/Shanghai">Asia/Shanghai</option></select>') \
        == set()
