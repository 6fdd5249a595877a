"""Monitoring fixtures: servers straight in the database (the servers tests' helpers)."""

from tests.monitoring.health_fakes import fake_probes  # noqa: F401
from tests.monitoring.webhook_receiver import enqueued, receiver  # noqa: F401
from tests.servers.conftest import fleet_admin, make_server, place_relay, remote  # noqa: F401
