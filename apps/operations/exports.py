"""Large lists as files made in the background.

A page asks for an export (`request`): an operation row, written with its audit event. A worker
writes the CSV under EXPORT_DIR (to a part file, renamed when complete) while the page that asked
polls the operation; once it is done the page offers the file, to the person who asked and to
nobody else, until EXPORT_KEEP_HOURS have passed (the sweeper deletes older files). No web
worker is held while 20,000 rows are read and written.

A list that can be exported registers its rows with `exporter(name)`: a function that takes the
operation and returns an `ExportRows` (header, how many rows, the rows).
"""

import csv
import dataclasses
import os
import secrets
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from derpmgr.errors import ServiceError

from . import services
from .models import Operation, OperationKind, OperationState

CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 2000


@dataclasses.dataclass
class ExportRows:
    header: list[str]
    total: int
    rows: Iterable[list]


@dataclasses.dataclass(frozen=True)
class Exporter:
    rows: Callable[[Operation], ExportRows]
    filename: str  # the download's name, before the date: "derpmgr-codes"
    label: Callable[[], str]


_exporters: dict[str, Exporter] = {}


def exporter(name: str, *, filename: str, label: Callable[[], str]):
    """Register the rows of the list `name` (apps do so in their operations module)."""
    def register(rows):
        _exporters[name] = Exporter(rows=rows, filename=filename, label=label)
        return rows
    return register


def csv_safe(value) -> str:
    """A spreadsheet must not run a cell as a formula: quote cells that would start one."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_STARTS) else text


def request(*, actor, name: str, params: dict, ip: str | None = None) -> Operation:
    """Ask for the list `name` with the (already validated) filters `params` as a file."""
    if name not in _exporters:
        raise ServiceError(_("This list cannot be exported."), code="unknown_export", status=400)
    return services.request(OperationKind.EXPORT, actor=actor, ip=ip, customer=actor,
                            args={"list": name, "params": params},
                            label=str(_exporters[name].label()), details={"list": name})


def export_dir() -> Path:
    directory = Path(settings.EXPORT_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


@services.handles(OperationKind.EXPORT)
def _write(operation: Operation, context: services.Context) -> dict:
    chosen = _exporters.get(operation.args.get("list", ""))
    if chosen is None:
        raise ServiceError(_("This list cannot be exported."), code="unknown_export")
    requester = operation.requested_by
    if requester is None or not requester.is_active:
        raise ServiceError(_("The account that asked for this export is gone."), code="no_requester")
    export = chosen.rows(operation)
    name = f"{operation.pk}-{secrets.token_urlsafe(12)}.csv"
    final = export_dir() / name
    part = final.with_name(f".{name}.part")
    written = 0
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # codes are secrets
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            file.write("\ufeff")  # the BOM lets spreadsheet programs see UTF-8
            writer.writerow(export.header)
            for row in export.rows:
                writer.writerow([csv_safe(cell) for cell in row])
                written += 1
                if written % PROGRESS_EVERY == 0:
                    context.progress(written, export.total,
                                     _("%(done)d of %(total)d rows") % {"done": written,
                                                                        "total": export.total})
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return {"file": name, "rows": written, "bytes": final.stat().st_size,
            "download_as": f"{chosen.filename}-{timezone.localdate():%Y-%m-%d}.csv"}


def own_export(user, pk: int) -> Operation:
    """An export the user asked for; anything else (or someone else's) is a 404."""
    operation = (Operation.objects.visible_to(user)
                 .filter(pk=pk, kind=OperationKind.EXPORT, requested_by_id=user.pk).first())
    if operation is None:
        raise Http404
    return operation


def file_of(operation: Operation) -> Path | None:
    """The finished export's file, or None while it is being made, after it failed or once it
    was deleted for its age."""
    name = str(operation.result.get("file", "")) if operation.state == OperationState.DONE else ""
    if not name or "/" in name or name.startswith("."):
        return None
    path = Path(settings.EXPORT_DIR) / name
    return path if path.is_file() else None


def download(operation: Operation) -> FileResponse:
    path = file_of(operation)
    if path is None:
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, content_type="text/csv; charset=utf-8",
                        filename=operation.result.get("download_as") or path.name)


def delete_expired(*, now: float | None = None) -> int:
    """Delete exports (and part files a killed worker left) older than EXPORT_KEEP_HOURS."""
    directory = Path(settings.EXPORT_DIR)
    if not directory.is_dir():
        return 0
    cutoff = (now or time.time()) - settings.EXPORT_KEEP_HOURS * 3600
    deleted = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)
                deleted += 1
    return deleted
