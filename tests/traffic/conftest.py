"""Traffic fixtures (each set lives in its own module; imported here for pytest)."""

from tests.servers.conftest import fleet_admin, make_server, new_server_data, remote  # noqa: F401
from tests.traffic.quota_support import capped, three_relay_renter  # noqa: F401
from tests.traffic.usage_support import carol  # noqa: F401
