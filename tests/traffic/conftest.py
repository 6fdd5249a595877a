"""Traffic fixtures: servers and relays straight in the database (the servers tests' helpers),
fake interface counters."""

from tests.servers.conftest import make_server, place_relay  # noqa: F401
from tests.traffic.sampling_fakes import fake_hosts  # noqa: F401
