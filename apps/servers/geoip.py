"""Locations from an offline IP database (IP_DATABASE_PATH): MaxMind .mmdb or ip2region .xdb.
Without one configured, locations stay empty (and editable by hand)."""

import functools
import ipaddress
import logging
import struct
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


class _Xdb:
    """ip2region's xdb (version 2): a 256×256 vector index of segment blocks, IPv4 only."""

    HEADER = 256
    VECTOR_COLS = 256
    SEGMENT = 14

    def __init__(self, path: Path):
        self.data = path.read_bytes()

    def lookup(self, ip: str) -> str:
        address = ipaddress.ip_address(ip)
        if address.version != 4:
            return ""
        value = int(address)
        first, second = value >> 24, (value >> 16) & 0xFF
        offset = self.HEADER + (first * self.VECTOR_COLS + second) * 8
        start, end = struct.unpack_from("<II", self.data, offset)
        low, high = 0, (end - start) // self.SEGMENT
        while low <= high:
            middle = (low + high) // 2
            segment_start, segment_end, length, pointer = struct.unpack_from(
                "<IIHI", self.data, start + middle * self.SEGMENT)
            if value < segment_start:
                high = middle - 1
            elif value > segment_end:
                low = middle + 1
            else:
                region = self.data[pointer:pointer + length].decode("utf-8", "replace")
                return "".join(p for p in region.split("|") if p and p != "0")
        return ""


class _Mmdb:
    def __init__(self, path: Path):
        import maxminddb

        self.reader = maxminddb.open_database(str(path))

    def lookup(self, ip: str) -> str:
        record = self.reader.get(ip) or {}
        names = []
        for part in ("country", "subdivisions", "city"):
            item = record.get(part)
            if isinstance(item, list):
                item = item[0] if item else None
            if item:
                names.append(item.get("names", {}).get("zh-CN") or item.get("names", {}).get("en", ""))
        return " ".join(n for n in names if n)


@functools.cache
def _database(path: str):
    if not path:
        return None
    file = Path(path)
    try:
        return _Xdb(file) if file.suffix == ".xdb" else _Mmdb(file)
    except Exception:  # a missing or broken file: no locations, but say why once
        logger.exception("cannot open the IP database %s", path)
        return None


def locate(ip: str) -> str:
    database = _database(settings.IP_DATABASE_PATH)
    if database is None:
        return ""
    try:
        return database.lookup(ip)[:128]
    except (ValueError, struct.error, KeyError):
        return ""
