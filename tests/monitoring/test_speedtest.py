"""Speed test (fake SSH driver): asked for from the API, the server page or the admin, it runs
as an operation — one per server at a time — that measures the download rate on the server (a
URL fetched with curl or wget, or data sent by the panel over SSH), reports progress, keeps a
download_mbps sample and returns {mbps, bytes, seconds, method}. Failures say why; transient
ones are retried."""

import pytest

from apps.audit.models import AuditEvent
from apps.monitoring import speedtest
from apps.monitoring.models import Metric, MonitoringSettings, Sample
from apps.operations.models import Operation, OperationState
from apps.servers import drivers
from apps.servers.models import ServerStatus
from tests.conftest import signed_in_client, token_client
from tests.servers.conftest import refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def ssh(monkeypatch):
    """The server side: `run` answers per program; `stream_to` swallows the chunks and notes the
    progress the operation showed meanwhile."""

    class FakeSSH:
        installed = "/usr/bin/curl\n"  # what `command -v curl || command -v wget` prints
        error = None

        def answer(self, argv):
            if argv[0] == "curl":
                return "52428800 2.5"
            if "command -v" in argv[2]:
                return self.installed
            return "1048576\n"  # the wget pipeline's byte count
        commands: list = []
        streamed = 0
        progress_seen: list = []

    fake = FakeSSH()
    fake.commands, fake.progress_seen = [], []

    def run(server, argv, *, check=True):
        fake.commands.append(list(argv))
        if fake.error:
            raise fake.error
        return fake.answer(argv)

    def stream_to(server, argv, chunks):
        fake.commands.append(list(argv))
        if fake.error:
            raise fake.error
        for chunk in chunks:
            fake.streamed += len(chunk)
            operation = Operation.objects.filter(kind="speed_test").first()
            if operation is not None:
                fake.progress_seen.append((operation.progress, operation.progress_message))
        return fake.streamed

    monkeypatch.setattr(drivers, "run", run)
    monkeypatch.setattr(drivers, "stream_to", stream_to)
    return fake


@pytest.fixture
def server(make_server):
    return make_server("sh-1")


def _ask(user, server):
    response = token_client(user).post(f"/api/server/{server.pk}/speed_test")
    assert response.status_code == 202, response.content
    return response.json()["operation"]


def test_with_a_url_the_server_downloads_it_with_curl(admin_user, server, ssh, run_operations):
    MonitoringSettings.objects.update_or_create(pk=1, defaults={
        "speed_test_url": "https://mirror.example.com/100MB.bin"})
    operation = _ask(admin_user, server)
    assert operation["kind"] == "speed_test" and ssh.commands == []  # the worker measures

    run_operations()

    done = Operation.objects.get(pk=operation["id"])
    assert done.state == OperationState.DONE, done.error
    assert done.result == {"mbps": 167.77, "bytes": 52428800, "seconds": 2.5, "method": "curl"}
    curl = ssh.commands[-1]
    assert curl[0] == "curl" and curl[-1] == "https://mirror.example.com/100MB.bin"
    assert "%{size_download} %{time_total}" in curl
    sample = Sample.objects.get(metric=Metric.DOWNLOAD_MBPS)
    assert (sample.server_id, sample.value, sample.instance_id) == (server.pk, 167.77, None)
    event = AuditEvent.objects.get(action="monitoring.speed_test")
    assert event.actor_id == admin_user.pk and event.details["mbps"] == 167.77


def test_without_curl_wget_fetches_and_the_panel_times_it(admin_user, server, ssh,
                                                           run_operations):
    MonitoringSettings.objects.update_or_create(pk=1, defaults={
        "speed_test_url": "http://mirror.example.com/f"})
    ssh.installed = "/usr/bin/wget\n"
    operation = _ask(admin_user, server)
    run_operations()

    done = Operation.objects.get(pk=operation["id"])
    assert done.state == OperationState.DONE, done.error
    assert done.result["method"] == "wget" and done.result["bytes"] == 1048576
    wget = ssh.commands[-1]
    assert wget[:2] == ["sh", "-c"] and "wget" in wget[2]
    assert "http://mirror.example.com/f" in wget[3:]  # an argument, never spliced in the script


def test_neither_curl_nor_wget_fails_clearly(admin_user, server, ssh, run_operations):
    MonitoringSettings.objects.update_or_create(pk=1, defaults={
        "speed_test_url": "http://mirror.example.com/f"})
    ssh.installed = ""
    operation = _ask(admin_user, server)
    run_operations()

    done = Operation.objects.get(pk=operation["id"])
    assert done.state == OperationState.FAILED
    assert "Neither curl nor wget" in done.error and done.error_code == "no_downloader"
    assert not Sample.objects.exists()


def test_without_a_url_the_panel_sends_the_data_and_shows_progress(admin_user, server, ssh,
                                                                  run_operations, settings):
    settings.SPEED_TEST_BYTES = 8 * 2**20
    operation = _ask(admin_user, server)
    run_operations()

    done = Operation.objects.get(pk=operation["id"])
    assert done.state == OperationState.DONE, done.error
    assert done.result["method"] == "panel" and done.result["bytes"] == 8 * 2**20
    assert done.result["mbps"] > 0
    assert ssh.commands == [speedtest.DISCARD]
    percents = [percent for percent, _message in ssh.progress_seen]
    assert percents == sorted(percents) and 0 < max(percents) < 100
    assert any("MiB" in message for _percent, message in ssh.progress_seen)
    assert Sample.objects.get(metric=Metric.DOWNLOAD_MBPS).value == done.result["mbps"]


def test_an_unreachable_server_is_retried_then_fails_with_the_reason(admin_user, server, ssh,
                                                                    run_operations):
    ssh.error = drivers.RemoteError("sh-1 unreachable: connection refused", transient=True,
                                    code="unreachable")
    operation = _ask(admin_user, server)
    run_operations()

    waiting = Operation.objects.get(pk=operation["id"])
    assert waiting.state == OperationState.QUEUED  # tried again later
    assert "connection refused" in waiting.error and waiting.attempts == 1
    Operation.objects.filter(pk=waiting.pk).update(attempts=waiting.max_attempts - 1,
                                                   not_before=waiting.created_at)
    run_operations()
    failed = Operation.objects.get(pk=operation["id"])
    assert failed.state == OperationState.FAILED and "connection refused" in failed.error
    assert not Sample.objects.exists()


def test_a_failing_command_fails_at_once(admin_user, server, ssh, run_operations):
    ssh.error = drivers.RemoteError("`sh` failed on sh-1 (exit 1): disk full", transient=False,
                                    code="command_failed")
    operation = _ask(admin_user, server)
    run_operations()

    failed = Operation.objects.get(pk=operation["id"])
    assert failed.state == OperationState.FAILED and failed.attempts == 1
    assert "disk full" in failed.error


def test_one_speed_test_per_server_at_a_time(admin_user, superadmin, server, make_server, ssh):
    first = _ask(admin_user, server)
    again = _ask(superadmin, server)
    other = _ask(admin_user, make_server("sh-2"))

    assert again["id"] == first["id"] and other["id"] != first["id"]
    assert Operation.objects.count() == 2


def test_a_server_being_set_up_is_refused(admin_user, make_server, ssh):
    server = make_server("new", status=ServerStatus.SETTING_UP)

    refused(token_client(admin_user).post(f"/api/server/{server.pk}/speed_test"), 409,
            "server_setting_up")
    assert not Operation.objects.exists()


def test_the_server_page_button_queues_and_then_shows_progress(admin_user, server, ssh):
    client = signed_in_client(admin_user)
    before = client.get(f"/ops/servers/{server.pk}/").content.decode()
    assert f'action="/ops/servers/{server.pk}/speed-test/"' in before
    assert "No speed test yet." in before

    response = client.post(f"/ops/servers/{server.pk}/speed-test/")

    assert response.status_code == 302 and response["Location"].endswith("#speed-test")
    operation = Operation.objects.get(kind="speed_test", server_id=server.pk)
    page = client.get(f"/ops/servers/{server.pk}/").content.decode()
    assert f'hx-get="/ops/operations/{operation.pk}/"' in page  # polls while it runs
    assert "Run a speed test" not in page


def test_the_server_page_shows_the_last_result(admin_user, server, ssh, run_operations):
    MonitoringSettings.objects.update_or_create(pk=1, defaults={
        "speed_test_url": "https://mirror.example.com/100MB.bin"})
    _ask(admin_user, server)
    run_operations()

    page = signed_in_client(admin_user).get(f"/ops/servers/{server.pk}/").content.decode()
    assert "167.77 Mbit/s" in page and "curl" in page


def test_the_admin_action_queues_one_test_per_server(admin_user, server, make_server, ssh):
    other = make_server("sh-2")
    response = signed_in_client(admin_user).post("/admin/servers/server/", {
        "action": "speed_test", "_selected_action": [server.pk, other.pk]}, follow=True)

    assert response.status_code == 200
    assert sorted(Operation.objects.filter(kind="speed_test").values_list("server_id", flat=True)
                  ) == sorted([server.pk, other.pk])
    assert ssh.commands == []
