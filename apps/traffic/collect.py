"""Reading a server's interface counters over SSH (a driver: only services call it; it touches
no database). One command: the boot id (the counters' epoch: they restart at zero with the
machine), the interface asked for or else the default route's, and /proc/net/dev.
"""

from apps.containers.engine import Counters
from apps.servers import drivers
from apps.servers.drivers import RemoteError

# The interface arrives as a positional argument ("$1"), never inside the script's text.
SCRIPT = r"""
iface="$1"
if [ -z "$iface" ]; then
  iface=$(awk 'NR > 1 && $2 == "00000000" { print $1; exit }' /proc/net/route)
fi
echo "boot $(cat /proc/sys/kernel/random/boot_id)"
echo "iface $iface"
cat /proc/net/dev
"""


def parse(output: str) -> tuple[str, Counters]:
    """(interface, its counters) from the script's output; RemoteError if it has none."""
    boot = iface = ""
    devices = {}
    for line in output.splitlines():
        if line.startswith("boot "):
            boot = line[5:].strip()
        elif line.startswith("iface "):
            iface = line[6:].strip()
        elif ":" in line:
            name, _colon, figures = line.partition(":")
            fields = figures.split()
            if len(fields) >= 9 and fields[0].isdigit() and fields[8].isdigit():
                devices[name.strip()] = (int(fields[0]), int(fields[8]))
    if not iface:
        raise RemoteError("no default route to find the network interface by; set the server's "
                          "interface", transient=False, code="no_interface")
    if iface not in devices:
        raise RemoteError(f"the server has no network interface {iface!r} (it has: "
                          f"{', '.join(sorted(devices))})", transient=False,
                          code="unknown_interface")
    rx, tx = devices[iface]
    return iface, Counters(rx=rx, tx=tx, epoch=boot[:64])


def interface_counters(server) -> Counters:
    """The counters of the server's traffic interface (blank: the default route's)."""
    output = drivers.run(server, ["sh", "-c", SCRIPT, "sh", server.traffic_interface or ""])
    return parse(output)[1]
