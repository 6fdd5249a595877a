"""Reading a server's interface counters: the interface asked for, else the default route's
(found by the same command); an interface the server does not have is a clear, permanent
error naming the ones it has."""

import pytest

from apps.containers import engine
from apps.servers.drivers import RemoteError
from apps.traffic import collect

PROC_NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls \
carrier compressed
    lo: 1234567 10 0 0 0 0 0 0  1234567 10 0 0 0 0 0 0
  eth0: 987654321 555 0 0 0 0 0 0 123456789 444 0 0 0 0 0 0
"""


def output(iface: str) -> str:
    return f"boot 0b6f-boot\niface {iface}\n{PROC_NET_DEV}"


def test_the_interfaces_received_and_sent_bytes_and_the_boot_as_epoch():
    iface, counters = collect.parse(output("eth0"))
    assert iface == "eth0"
    assert (counters.rx, counters.tx, counters.epoch) == (987654321, 123456789, "0b6f-boot")


def test_an_unknown_interface_is_refused_naming_those_there_are():
    with pytest.raises(RemoteError) as refused:
        collect.parse(output("ens5"))
    assert refused.value.code == "unknown_interface" and not refused.value.transient
    assert "'ens5'" in str(refused.value) and "eth0, lo" in str(refused.value)


def test_no_default_route_and_no_interface_set_is_refused():
    with pytest.raises(RemoteError) as refused:
        collect.parse(output(""))
    assert refused.value.code == "no_interface"


def test_the_interface_reaches_the_command_as_an_argument(monkeypatch):
    asked = []
    monkeypatch.setattr(collect.drivers, "run", lambda server, argv: asked.append(argv)
                        or output("eth0; rm -rf /"))

    class Server:
        traffic_interface = "eth0; rm -rf /"

    with pytest.raises(RemoteError):
        collect.interface_counters(Server())
    assert asked[0][:2] == ["sh", "-c"] and asked[0][-1] == "eth0; rm -rf /"


@pytest.mark.parametrize(("version", "swapped"), [
    ({"Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]}, True),
    ({"Components": [{"Name": "Podman Engine", "Version": "4.4.0"}]}, False),
    ({"Components": [{"Name": "Podman Engine", "Version": "5.2.2"}]}, False),
    ({"Components": [{"Name": "Engine", "Version": "24.0.7"}]}, False),
    ({}, False),
])
def test_engines_that_swap_received_and_sent_in_their_stats_are_known(version, swapped):
    """podman before 4.4 reports a container's received bytes as sent (containers/podman#16618)."""
    assert engine.swaps_network_stats(version) is swapped
