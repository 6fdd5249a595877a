"""Small readers for what the accounts flows leave behind: audit rows, outbox mail, links."""

import re

from django.forms import MultiWidget

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboundEmail
from tests.factories import PASSWORD

STRONG_PASSWORD = "correct horse battery staple 9"


def events(action: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def mails_to(address: str, template: str | None = None) -> list[OutboundEmail]:
    mails = OutboundEmail.objects.filter(recipient__address=address.lower()).order_by("id")
    if template:
        mails = mails.filter(template=template)
    return list(mails)


def link_in(mail: OutboundEmail) -> str:
    """The one panel link in an e-mail's text body."""
    links = re.findall(r"https?://\S+", mail.body_text)
    assert len(links) == 1, mail.body_text
    return links[0]


def path_of(link: str, panel_url: str = "http://testserver") -> str:
    assert link.startswith(panel_url + "/"), link
    return link[len(panel_url):]


def api_login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/api/user/login", {"email": email, "password": password, **extra},
                       format="json")


def page_login(client, email: str, password: str = PASSWORD, *, follow: bool = False, **extra):
    return client.post("/accounts/login/", {"email": email, "password": password, **extra},
                       follow=follow)


def error_of(response) -> dict:
    body = response.json()
    assert body["success"] is False, body
    return body["error"]


def admin_form_data(client, url: str, **changes) -> dict:
    """What the admin change form at `url` would post back untouched, with `changes` applied
    (False drops a field, as an unticked checkbox)."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            parts = field.widget.decompress(value)
            data.update({f"{name}_{i}": "" if part is None else str(part)
                         for i, part in enumerate(parts)})
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        else:
            data[name] = "" if value is None else str(value)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return data
