"""End to end on real parts: a server added over real SSH, backed up, the database wiped, restored on
an installation with another CREDENTIALS_KEY — and a relay then starts on that server with the
restored credentials."""

import pytest
from django.core.management import call_command

from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import provision_rental
from apps.servers import drivers
from apps.servers.models import Server
from tests.fleet import infra
from tests.fleet.support import relay_answers, renter
from tests.servers.credential_keys import NEW_KEY, OLD_KEY, command, use_own_keyring

pytestmark = pytest.mark.django_db(transaction=True)  # the dump sees committed rows; relays start in threads


def test_a_relay_starts_with_credentials_restored_onto_another_key(fleet, settings, tmp_path):
    keyring = use_own_keyring(settings, tmp_path)
    settings.CREDENTIALS_KEY = [OLD_KEY]
    server = fleet.add_one()
    user = renter()
    archive_path = tmp_path / "derpmgr.tar.gz"
    command("backup", "--output", str(archive_path))
    call_command("flush", interactive=False, verbosity=0)
    drivers.close_all()  # no SSH session opened with the old configuration survives
    settings.CREDENTIALS_KEY = [NEW_KEY]

    command("restore", str(archive_path))

    assert OLD_KEY in keyring.read_text()
    assert Server.objects.get(pk=server.pk).ssh_secret() == fleet.loopback.client_key.private_openssh
    report = provision_rental(user_id=user.pk, servers=1)
    assert len(report.created) == 1 and not report.failed
    instance = DerpInstance.objects.get(user=user)
    assert instance.status == InstanceStatus.RUNNING and instance.server_id == server.pk
    assert fleet.container(instance).attrs["State"]["Running"]
    assert infra.wait_for(lambda: relay_answers(server, instance.port), timeout=10,
                          what="the relay's /generate_204")
