"""Speed test: the download rate a server gets, measured on the server.

With MonitoringSettings.speed_test_url set, the server downloads that file (curl, else wget);
otherwise the panel sends SPEED_TEST_BYTES over the server's SSH connection to a command that
discards them. Either way the rate is stored as a `download_mbps` sample and returned as the
operation's result. Asked for by pages, the API and the admin (`request`); carried out by a
worker (apps/monitoring/operations.py)."""

import os
import time

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from apps.audit import services as audit
from apps.operations import services as operations
from apps.operations.models import Operation, OperationKind
from apps.servers import drivers
from apps.servers.models import Server, ServerStatus
from derpmgr.errors import Conflict

from .models import Metric, MonitoringSettings, Sample

CHUNK = 256 * 1024
PROGRESS_EVERY = 16  # chunks between progress reports (4 MiB)
# The command that swallows the panel's data on the server (a constant: nothing is spliced in).
DISCARD = ["sh", "-c", "cat > /dev/null"]


def request(*, actor, server: Server, ip: str | None = None) -> Operation:
    """Ask a worker to measure the server's download rate: one test per server at a time (asking
    again while one runs answers that one)."""
    if server.status == ServerStatus.SETTING_UP:
        raise Conflict(_("%(name)s is still being set up.") % {"name": server.name},
                       code="server_setting_up")
    return operations.request(OperationKind.SPEED_TEST, actor=actor, server=server, ip=ip,
                              dedupe_key=f"speed_test:server:{server.pk}", max_attempts=3)


def measure(*, server: Server, actor=None,
            progress=lambda done, total, message="": None) -> dict:
    """Measure now and keep the result: {mbps, bytes, seconds, method}. Raises RemoteError."""
    url = MonitoringSettings.current().speed_test_url
    if url:
        progress(0, 1, _("Downloading %(url)s on the server") % {"url": url})
        size, seconds, method = _download(server, url)
    else:
        size, seconds, method = _transfer(server, progress)
    if size <= 0 or seconds <= 0:
        raise drivers.RemoteError(_("The download delivered nothing (%(bytes)d bytes in "
                                    "%(seconds).2f s).") % {"bytes": size, "seconds": seconds},
                                  transient=True, code="speed_test_empty")
    mbps = round(size * 8 / seconds / 1_000_000, 2)
    result = {"mbps": mbps, "bytes": size, "seconds": round(seconds, 3), "method": method}
    with transaction.atomic():
        Sample.objects.create(server=server, metric=Metric.DOWNLOAD_MBPS, value=mbps)
        audit.record(actor=actor, action="monitoring.speed_test", target=server,
                     details={"server": server.name, **result})
    return result


def _download(server: Server, url: str) -> tuple[int, float, str]:
    timeout = settings.SPEED_TEST_TIMEOUT
    found = drivers.run(server, ["sh", "-c", "command -v curl || command -v wget || true"])
    if "curl" in found:
        output = drivers.run(server, ["curl", "-fsS", "-o", "/dev/null", "--max-time", timeout,
                                      "-w", "%{size_download} %{time_total}", url])
        try:
            size, seconds = output.split()[:2]
            return int(float(size)), float(seconds), "curl"
        except ValueError:
            raise drivers.RemoteError(_("curl answered something unexpected: %(out)s")
                                      % {"out": output[:200]}, transient=False,
                                      code="speed_test_output") from None
    if "wget" in found:  # wget reports no figures: the panel times the whole command
        started = time.monotonic()
        output = drivers.run(server, ["sh", "-c", 'wget -q -T "$2" -O - "$1" | wc -c', "wget",
                                      url, timeout])
        seconds = time.monotonic() - started
        return int(output.strip() or 0), seconds, "wget"
    raise drivers.RemoteError(_("Neither curl nor wget is installed on %(name)s.")
                              % {"name": server.name}, transient=False, code="no_downloader")


def _transfer(server: Server, progress) -> tuple[int, float, str]:
    total = settings.SPEED_TEST_BYTES
    block = os.urandom(CHUNK)  # incompressible, in case the SSH link compresses

    def chunks():
        sent = 0
        while sent < total:
            piece = block[:min(CHUNK, total - sent)]
            yield piece
            sent += len(piece)
            if (sent // CHUNK) % PROGRESS_EVERY == 0 or sent >= total:
                progress(sent, total, _("Sent %(sent)d of %(total)d MiB") % {
                    "sent": sent // 2**20, "total": total // 2**20})

    progress(0, total, _("Sending %(total)d MiB from the panel") % {"total": total // 2**20})
    started = time.monotonic()
    size = drivers.stream_to(server, DISCARD, chunks())
    return size, time.monotonic() - started, "panel"
