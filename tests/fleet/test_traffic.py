"""Traffic on real servers: bytes pushed through a relay's published port show in its totals
(within the packets' overhead); a container restarted between samples loses nothing and counts
nothing twice; a server unreachable for three samples, then back, loses nothing; a server's
interface counters (here `lo`, over its real sshd) feed its monthly and total figures."""

import pytest
from django.db.models import Sum

from apps.containers.models import DerpInstance
from apps.containers.services import provision_rental
from apps.servers.models import Server
from apps.traffic import sampling
from apps.traffic.models import RelayTraffic, Resolution
from tests.fleet import derp_client, infra
from tests.fleet.support import relay_answers, renter

pytestmark = pytest.mark.django_db(transaction=True)  # relays start in threads

MiB = 1 << 20
PAD = 60_000  # bytes of header per request: well under Go's 1 MiB header limit


def push(instance, size: int) -> int:
    """Send about `size` bytes to the relay over its pinned TLS: keep-alive requests for
    /generate_204 padded with a large header, each read whole by derper and answered 204.
    Returns the bytes of requests written."""
    server = instance.server
    request = (f"GET /generate_204 HTTP/1.1\r\nHost: {server.public_ip}\r\n"
               f"X-Pad: {'p' * PAD}\r\n\r\n").encode()
    count = -(-size // len(request))
    with derp_client.tls_connect(server.public_ip, instance.port,
                                 cert_sha256=server.cert_fingerprint) as sock:
        reader = sock.makefile("rb")
        for _ in range(count):
            sock.sendall(request)
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 204"), status
            while reader.readline() not in (b"\r\n", b""):
                pass
    return count * len(request)


@pytest.fixture
def relay(fleet):
    server = fleet.add_one()
    Server.objects.filter(pk=server.pk).update(traffic_interface="lo")
    user = renter()
    provision_rental(user_id=user.pk, servers=1)
    instance = DerpInstance.objects.select_related("server").get(user=user)
    infra.wait_for(lambda: relay_answers(server, instance.port), timeout=15,
                   what="the relay's /generate_204")
    return instance


def received(instance) -> int:
    instance.refresh_from_db()
    return instance.rx_bytes


def assert_about(grown: int, sent: int) -> None:
    """What the container's interface saw: the bytes sent plus TLS, TCP and IP overhead and the
    answers' acknowledgements; never less."""
    assert sent <= grown <= sent * 1.12 + 64 * 1024, (grown, sent)


def test_bytes_pushed_through_a_relay_show_in_its_totals_and_the_servers(relay):
    server = relay.server
    sampling.sample_round(server_ids=[server.pk])
    before = received(relay)
    server.refresh_from_db()
    server_before = server.traffic_total_bytes

    sent = push(relay, 8 * MiB)
    report = sampling.sample_round(server_ids=[server.pk])

    assert not report.failed
    assert_about(received(relay) - before, sent)
    assert relay.tx_bytes > 0 and relay.rate_bps > 0
    minutes = RelayTraffic.objects.filter(instance=relay, resolution=Resolution.MINUTE)
    assert minutes.aggregate(rx=Sum("rx_bytes"))["rx"] == relay.rx_bytes
    server.refresh_from_db()
    assert server.counter_epoch  # the boot id
    assert server.traffic_total_bytes > server_before  # lo carried this round's SSH at least
    assert server.traffic_month_bytes == server.traffic_total_bytes


def test_a_restart_between_samples_loses_nothing_and_counts_nothing_twice(relay, fleet):
    server = relay.server
    sampling.sample_round(server_ids=[server.pk])
    before = received(relay)
    first = push(relay, 4 * MiB)
    sampling.sample_round(server_ids=[server.pk])
    relay.refresh_from_db()
    epoch = relay.counter_epoch

    fleet.container(relay).restart(timeout=5)
    infra.wait_for(lambda: relay_answers(server, relay.port), timeout=15,
                   what="the restarted relay")
    second = push(relay, 2 * MiB)  # less than before the restart: raw − last would be negative
    sampling.sample_round(server_ids=[server.pk])

    assert_about(received(relay) - before, first + second)
    assert relay.counter_epoch != epoch  # the same container, started again


def test_an_unreachable_server_for_three_samples_then_back_loses_nothing(relay, fleet):
    server = relay.server
    sshd = fleet.sshd(server)
    sampling.sample_round(server_ids=[server.pk])
    before = received(relay)

    sshd.stop()
    sent = 0
    for _ in range(3):
        sent += push(relay, 2 * MiB)  # the relay carries on; only the panel cannot look
        report = sampling.sample_round(server_ids=[server.pk])
        assert server.pk in report.failed
        assert received(relay) == before
    sshd.start()
    report = sampling.sample_round(server_ids=[server.pk])

    assert not report.failed
    assert_about(received(relay) - before, sent)
