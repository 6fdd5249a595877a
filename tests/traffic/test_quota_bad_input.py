"""Wrong quota settings — a negative or absurd quota, a reset day outside 1–28, an interface
name no kernel would give — are refused in the same words on every path that sets them (the API
and the admin when adding, the admin when editing, the service itself), and nothing changes."""

import pytest
from django.utils import translation

from apps.audit.models import AuditEvent
from apps.servers import services
from apps.servers.models import Server
from derpmgr.errors import ServiceError
from tests.conftest import signed_in_client, token_client
from tests.servers.conftest import refused
from tests.servers.test_admin import change_data, change_url

with translation.override("en"):  # the tests below ask in English
    QUOTA = str(services.QUOTA_REFUSAL)
    RESET_DAY = str(services.RESET_DAY_REFUSAL)
    INTERFACE = str(services.INTERFACE_REFUSAL)

ON_ADD = {  # case: (body changes, field, message)
    "negative quota": ({"monthly_quota_gb": -1}, "monthly_quota_gb", QUOTA),
    "absurd quota (over 10 PB)": ({"monthly_quota_gb": 10_000_001}, "monthly_quota_gb", QUOTA),
    "fractional quota": ({"monthly_quota_gb": 1.5}, "monthly_quota_gb", QUOTA),
    "quota a word": ({"monthly_quota_gb": "lots"}, "monthly_quota_gb", QUOTA),
    "reset day 0": ({"quota_reset_day": 0}, "quota_reset_day", RESET_DAY),
    "reset day 29": ({"quota_reset_day": 29}, "quota_reset_day", RESET_DAY),
    "reset day 31": ({"quota_reset_day": 31}, "quota_reset_day", RESET_DAY),
    "interface with a shell command": ({"traffic_interface": "eth0; reboot"},
                                       "traffic_interface", INTERFACE),
    "interface too long": ({"traffic_interface": "e" * 16}, "traffic_interface", INTERFACE),
    "interface starting with a dash": ({"traffic_interface": "-eth0"}, "traffic_interface",
                                       INTERFACE),
    "interface with a newline": ({"traffic_interface": "eth0\nlo"}, "traffic_interface",
                                 INTERFACE),
    "interface a path": ({"traffic_interface": "../../etc"}, "traffic_interface", INTERFACE),
}


@pytest.mark.parametrize("case", ON_ADD)
def test_adding_over_the_api_refuses_with_the_reason(fleet_admin, remote, fake_engine,
                                                     new_server_data, case, settings):
    settings.LANGUAGE_CODE = "en"
    changes, field, message = ON_ADD[case]

    response = token_client(fleet_admin).post("/api/server/add", {**new_server_data, **changes},
                                             format="json")

    error = refused(response, 400, "invalid")
    assert error["fields"][field] == [message]
    assert not Server.objects.exists()
    assert remote.calls == [] and fake_engine.calls == []


def test_a_good_interface_is_kept(fleet_admin, remote, new_server_data):
    response = token_client(fleet_admin).post(
        "/api/server/add", {**new_server_data, "traffic_interface": "enp3s0.100"}, format="json")

    assert response.status_code == 202, response.content
    assert Server.objects.get().traffic_interface == "enp3s0.100"


ON_EDIT = {
    "negative quota": ({"monthly_quota_gb": -5}, "monthly_quota_gb", QUOTA),
    "absurd quota (over 10 PB)": ({"monthly_quota_gb": 99_999_999}, "monthly_quota_gb", QUOTA),
    "reset day 0": ({"quota_reset_day": 0}, "quota_reset_day", RESET_DAY),
    "reset day 29": ({"quota_reset_day": 29}, "quota_reset_day", RESET_DAY),
    "interface with a space": ({"traffic_interface": "eth 0"}, "traffic_interface", INTERFACE),
    "interface too long": ({"traffic_interface": "x" * 40}, "traffic_interface", INTERFACE),
}


@pytest.mark.parametrize("case", ON_EDIT)
def test_editing_in_the_admin_refuses_on_the_field_and_changes_nothing(superadmin, make_server,
                                                                       case):
    changes, field, message = ON_EDIT[case]
    server = make_server(monthly_quota_bytes=100 * 1024**3, quota_reset_day=5)
    superadmin.language = "en"
    superadmin.save(update_fields=["language"])

    response = signed_in_client(superadmin).post(change_url(server),
                                                 change_data(server, **changes))

    assert response.status_code == 200  # the admin shows the form again
    assert response.context["adminform"].form.errors[field] == [message]
    fresh = Server.objects.get(pk=server.pk)
    assert (fresh.monthly_quota_bytes, fresh.quota_reset_day, fresh.traffic_interface) == (
        100 * 1024**3, 5, "")
    assert not AuditEvent.objects.filter(action="servers.updated").exists()


def test_editing_the_interface_in_the_admin_is_kept_and_audited(superadmin, make_server):
    server = make_server()

    response = signed_in_client(superadmin).post(
        change_url(server), change_data(server, traffic_interface="ens5"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Server.objects.get(pk=server.pk).traffic_interface == "ens5"
    event = AuditEvent.objects.get(action="servers.updated")
    assert event.details["changes"]["traffic_interface"] == ["", "ens5"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"monthly_quota_bytes": -1}, "monthly_quota_bytes"),
    ({"monthly_quota_bytes": services.MAX_QUOTA_BYTES + 1}, "monthly_quota_bytes"),
    ({"monthly_quota_bytes": 1.5}, "monthly_quota_bytes"),
    ({"monthly_quota_bytes": True}, "monthly_quota_bytes"),
    ({"quota_reset_day": 29}, "quota_reset_day"),
    ({"quota_reset_day": "5"}, "quota_reset_day"),
    ({"traffic_interface": "eth0\n"}, "traffic_interface"),
])
def test_the_service_refuses_whatever_path_calls_it(superadmin, make_server, changes, field):
    server = make_server(monthly_quota_bytes=0)

    with pytest.raises(ServiceError) as refusal:
        services.update_server(actor=superadmin, server=server, changes=changes)

    assert refusal.value.status == 400 and field in refusal.value.fields
    assert Server.objects.get(pk=server.pk).monthly_quota_bytes == 0
    assert not AuditEvent.objects.filter(action="servers.updated").exists()
