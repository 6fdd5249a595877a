"""Values with quotes, $(...), backticks and ; reach the server as data, never as shell."""

import os
import stat

import pytest

from apps.containers.models import DerpInstance
from apps.containers.services import provision_rental
from apps.servers import drivers
from tests.fleet.support import renter


@pytest.fixture
def marker(tmp_path):
    """A file any injected command would create."""
    path = tmp_path / "injected"
    yield path
    assert not path.exists(), "a value was run as a command"


def hostile_values(marker):
    return [f"$(touch {marker})", f"`touch {marker}`", f"x; touch {marker}",
            f"x && touch {marker} || y", f"'; touch {marker}; '", f'"; touch {marker}; "',
            f"a\ntouch {marker}", "-n", "*", "  two  spaces  ", "back\\slash", "100%"]


def test_command_arguments_are_echoed_back_verbatim(fleet, marker):
    server = fleet.add_one()

    for value in hostile_values(marker):
        assert drivers.run(server, ["printf", "%s", value]) == value


def test_hostile_file_paths_are_written_and_removed_as_given(fleet, marker, tmp_path):
    server = fleet.add_one()
    directory = tmp_path / f"certs $(touch {marker}); 'q' \"dq\""
    path = directory / f"`touch {marker}`;x.key"

    drivers.put_file(server, str(path), b"secret", mode=0o600)

    assert path.read_bytes() == b"secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    drivers.remove_path(server, str(directory))
    assert not directory.exists()


def test_a_hostile_server_name_and_panel_id_are_only_labels(fleet, marker, settings):
    settings.PANEL_ID = f"panel '$(touch {marker})'; x"
    server = fleet.add_one(name="srv `false`; '$(true)' \"x\" && y")  # a name is never sent
    user = renter()

    provision_rental(user_id=user.pk, servers=1)

    instance = DerpInstance.objects.get(user=user, server=server)
    container = fleet.container(instance)
    assert container.labels["derpmgr.panel"] == settings.PANEL_ID
    assert container.status == "running"
    assert set(container.name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
