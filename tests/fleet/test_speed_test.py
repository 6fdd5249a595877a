"""Speed test end to end on a real sshd "server": the panel sends data over the server's SSH
connection (progress visible on the operation while it goes), or the server downloads a test
file from a URL (here an HTTP server of this test on 127.0.0.1, which the sshd host — this
machine — reaches). Either way a positive rate is stored as a sample and returned."""

import http.server
import shutil
import threading

import pytest

from apps.monitoring.models import Metric, MonitoringSettings, Sample
from apps.operations import services as operations
from apps.operations.models import Operation, OperationState
from tests import parts
from tests.conftest import token_client

FILE_BYTES = 4 * 2**20


@pytest.fixture
def test_file_server():
    """http://127.0.0.1:<port>/blob: FILE_BYTES of data; stopped at teardown."""
    payload = bytes(range(256)) * (FILE_BYTES // 256)

    class Blob(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/blob":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blob)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/blob"
    server.shutdown()
    server.server_close()


@pytest.fixture
def progress_seen(monkeypatch):
    """The progress each report left on the operation's row (what the pages poll)."""
    seen = []
    report = operations.Context.progress

    def recorded(context, done, total, message=""):
        report(context, done, total, message)
        row = Operation.objects.get(pk=context.operation.pk)
        seen.append((row.progress, row.progress_message))

    monkeypatch.setattr(operations.Context, "progress", recorded)
    return seen


def _speed_test(server, user) -> Operation:
    response = token_client(user).post(f"/api/server/{server.pk}/speed_test")
    assert response.status_code == 202, response.content
    operations.run_due()
    return Operation.objects.get(pk=response.json()["operation"]["id"])


def test_the_panel_sends_data_over_ssh_and_the_rate_is_kept(fleet, settings, progress_seen):
    settings.SPEED_TEST_BYTES = 24 * 2**20
    server = fleet.add_one()

    operation = _speed_test(server, fleet.actor)

    assert operation.state == OperationState.DONE, operation.error
    result = operation.result
    assert result["method"] == "panel" and result["bytes"] == 24 * 2**20
    assert result["mbps"] > 0 and result["seconds"] > 0
    assert Sample.objects.get(server=server, metric=Metric.DOWNLOAD_MBPS).value == result["mbps"]
    percents = [percent for percent, _message in progress_seen]
    assert len(percents) >= 3 and percents == sorted(percents)
    assert 0 < percents[1] < 100  # seen part-way, not only at the start
    assert any("MiB" in message for _percent, message in progress_seen)


def test_the_server_downloads_the_configured_url(fleet, test_file_server):
    parts.require(bool(shutil.which("curl") or shutil.which("wget")), "curl or wget on the test host")
    MonitoringSettings.objects.update_or_create(pk=1, defaults={
        "speed_test_url": test_file_server})
    server = fleet.add_one()

    operation = _speed_test(server, fleet.actor)

    assert operation.state == OperationState.DONE, operation.error
    result = operation.result
    assert result["method"] in ("curl", "wget") and result["bytes"] == FILE_BYTES
    assert result["mbps"] > 0
    assert Sample.objects.get(server=server, metric=Metric.DOWNLOAD_MBPS).value == result["mbps"]


def test_a_url_that_does_not_answer_fails_with_the_reason(fleet, test_file_server, settings):
    settings.SPEED_TEST_TIMEOUT = 5
    MonitoringSettings.objects.update_or_create(pk=1, defaults={
        "speed_test_url": test_file_server.replace("/blob", "/missing")})
    server = fleet.add_one()

    operation = _speed_test(server, fleet.actor)

    assert operation.state in (OperationState.FAILED, OperationState.QUEUED)
    assert operation.error  # curl's (or the empty download's) reason, for the operators
    assert not Sample.objects.filter(server=server).exists()


def test_a_command_that_stops_reading_fails_with_its_own_reason(fleet, settings, monkeypatch):
    from apps.monitoring import speedtest

    settings.SPEED_TEST_BYTES = 64 * 2**20
    monkeypatch.setattr(speedtest, "DISCARD", ["sh", "-c", "echo 'no room left' >&2; exit 3"])
    server = fleet.add_one()

    operation = _speed_test(server, fleet.actor)

    assert operation.state == OperationState.FAILED  # not retried: trying again cannot help
    assert "exit 3" in operation.error and "no room left" in operation.error
    assert operation.attempts == 1
