"""Traffic fixtures: servers and relays straight in the database, traffic rows written as the
sampling round would leave them; the sampling, quota and usage sets live in their own modules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.traffic.models import RelayTraffic, Resolution, ServerTraffic, UserTrafficDay
from tests.servers.conftest import fleet_admin, make_server, new_server_data, place_relay, remote  # noqa: F401
from tests.traffic.quota_support import capped, three_relay_renter  # noqa: F401
from tests.traffic.sampling_fakes import fake_hosts  # noqa: F401
from tests.traffic.usage_support import carol, spiking  # noqa: F401

GB = 2**30


def hour(hours_ago: int):
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours_ago)


def relay_hours(relay, rows: dict[int, tuple[int, int]], resolution=Resolution.HOUR) -> None:
    """rows: hours ago → (rx, tx) for `relay`."""
    step = {Resolution.HOUR: 1, Resolution.MINUTE: 1 / 60, Resolution.DAY: 24}[resolution]
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    for ago, (rx, tx) in rows.items():
        RelayTraffic.objects.create(
            instance=relay, server_id=relay.server_id, user_id=relay.user_id,
            resolution=resolution, start=start - timedelta(hours=ago * step), rx_bytes=rx,
            tx_bytes=tx, peak_bps=(rx + tx) * 8 // 3600)


def server_hours(server, rows: dict[int, int], resolution=Resolution.HOUR) -> None:
    for ago, total in rows.items():
        start = hour(ago) if resolution == Resolution.HOUR else hour(0) - timedelta(days=ago)
        ServerTraffic.objects.create(server=server, resolution=resolution, start=start,
                                     rx_bytes=total // 2, tx_bytes=total - total // 2,
                                     peak_bps=total)


def customer_days(user, rows: dict[int, int]) -> None:
    """rows: days ago (panel time) → bytes."""
    today = timezone.localdate()
    for ago, total in rows.items():
        UserTrafficDay.objects.create(user=user, day=today - timedelta(days=ago),
                                      rx_bytes=total // 4, tx_bytes=total - total // 4)


@pytest.fixture
def sampled_server(make_server):  # noqa: F811 - the fixture imported above
    """A server with figures from the sampling round and a 1 TB quota."""
    return make_server("sh-traffic", traffic_month_bytes=300 * GB, traffic_total_bytes=900 * GB,
                       monthly_quota_bytes=1000 * GB, quota_reset_day=5, rate_bps=12_500_000,
                       traffic_period_start=timezone.now() - timedelta(days=3),
                       last_sample_at=timezone.now())
