"""CREDENTIALS_KEY is a ring of keys: the first encrypts, every one decrypts; reencrypt_credentials
moves every credential to the first key; a credential no key reads is named, never shown."""

import json
import stat

import pytest
from django.core.checks import Tags, run_checks
from django.core.management.base import CommandError

from apps.audit.models import AuditEvent
from apps.servers import secrets_box
from apps.servers.models import Server
from tests import parts
from tests.servers.conftest import CLIENT_KEY
from tests.servers.credential_keys import (
    LOST_KEY,
    NEW_KEY,
    OLD_KEY,
    command,
    decrypts_with,
    manage,
    use_own_keyring,
)


@pytest.fixture(autouse=True)
def keyring(settings, tmp_path):
    return use_own_keyring(settings, tmp_path)


def fresh(server) -> Server:
    return Server.objects.get(pk=server.pk)


def test_a_credential_under_the_old_key_still_decrypts_when_the_old_key_is_second(settings, make_server):
    settings.CREDENTIALS_KEY = [OLD_KEY]
    server = make_server()

    settings.CREDENTIALS_KEY = [NEW_KEY, OLD_KEY]

    assert fresh(server).ssh_secret() == CLIENT_KEY


def test_new_credentials_are_encrypted_with_the_first_key_only(settings, make_server):
    settings.CREDENTIALS_KEY = [NEW_KEY, OLD_KEY]

    server = make_server()

    assert decrypts_with(NEW_KEY, server.ssh_secret_encrypted)
    assert not decrypts_with(OLD_KEY, server.ssh_secret_encrypted)


def test_a_comma_separated_string_is_read_as_the_list_of_keys(settings, make_server):
    settings.CREDENTIALS_KEY = [OLD_KEY]
    server = make_server()

    settings.CREDENTIALS_KEY = f" {NEW_KEY} , {OLD_KEY} "

    assert fresh(server).ssh_secret() == CLIENT_KEY
    assert secrets_box.encrypting_key() == NEW_KEY


def test_reencrypt_leaves_every_credential_readable_with_only_the_new_key(settings, make_server):
    settings.CREDENTIALS_KEY = [OLD_KEY]
    servers = [make_server(), make_server()]
    settings.CREDENTIALS_KEY = [NEW_KEY, OLD_KEY]

    output = command("reencrypt_credentials")

    assert "2 of 2 server credentials re-encrypted" in output
    settings.CREDENTIALS_KEY = [NEW_KEY]
    for server in servers:
        assert fresh(server).ssh_secret() == CLIENT_KEY
        assert not decrypts_with(OLD_KEY, fresh(server).ssh_secret_encrypted)
    event = AuditEvent.objects.get(action="servers.credentials_reencrypted")
    assert event.details["servers_total"] == 2
    assert event.details["servers_reencrypted"] == 2
    assert event.details["servers_unreadable"] == []
    recorded = json.dumps(event.details)
    assert NEW_KEY not in recorded and OLD_KEY not in recorded and "PRIVATE KEY" not in recorded


def test_reencrypt_names_a_credential_no_key_reads_rotates_the_rest_and_fails(settings, make_server):
    settings.CREDENTIALS_KEY = [LOST_KEY]
    lost = make_server("lost-1")
    settings.CREDENTIALS_KEY = [OLD_KEY]
    kept = make_server("kept-1")
    settings.CREDENTIALS_KEY = [NEW_KEY, OLD_KEY]

    with pytest.raises(CommandError) as failed:
        command("reencrypt_credentials")

    message = str(failed.value)
    assert "lost-1" in message and "kept-1" not in message
    assert lost.ssh_secret_encrypted not in message and "PRIVATE KEY" not in message
    assert fresh(lost).ssh_secret_encrypted == lost.ssh_secret_encrypted  # left as it was
    assert decrypts_with(NEW_KEY, fresh(kept).ssh_secret_encrypted)
    event = AuditEvent.objects.get(action="servers.credentials_reencrypted")
    assert event.details["servers_unreadable"] == ["lost-1"]


def test_the_database_check_names_the_unreadable_server_and_what_to_do(settings, make_server):
    settings.CREDENTIALS_KEY = [LOST_KEY]
    lost = make_server("lost-1")
    settings.CREDENTIALS_KEY = [NEW_KEY]
    make_server("fine-1")

    issues = [i for i in run_checks(tags=[Tags.database], databases=["default"])
              if i.id == "servers.W001"]

    assert len(issues) == 1
    assert "lost-1" in issues[0].msg
    assert "CREDENTIALS_KEY" in issues[0].hint and "reencrypt_credentials" in issues[0].hint
    assert lost.ssh_secret_encrypted not in issues[0].msg + issues[0].hint


def test_the_check_asks_nothing_of_the_database_unless_a_database_is_checked(settings, make_server,
                                                                            django_assert_num_queries):
    settings.CREDENTIALS_KEY = [LOST_KEY]
    make_server("lost-1")
    settings.CREDENTIALS_KEY = [NEW_KEY]

    with django_assert_num_queries(0):
        issues = run_checks(tags=[Tags.database])

    assert [i for i in issues if i.id == "servers.W001"] == []


def test_the_check_on_a_database_not_migrated_yet_finds_nothing_to_report(tmp_path):
    checked = manage("check", "--database", "default",
                     DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                     DERPMGR_DATA_DIR=str(tmp_path))

    assert checked.returncode == 0, checked.stderr
    assert "servers.W001" not in checked.stdout + checked.stderr


def test_check_credentials_exits_non_zero_naming_the_server(settings, make_server, transactional_db,
                                                            tmp_path):
    settings.CREDENTIALS_KEY = [LOST_KEY]
    lost = make_server("lost-1")
    settings.CREDENTIALS_KEY = [NEW_KEY]
    make_server("fine-1")

    checked = manage("check_credentials", DATABASE_URL=parts.database_url_for_subprocess(),
                     CREDENTIALS_KEY=NEW_KEY, DERPMGR_DATA_DIR=str(tmp_path),
                     CREDENTIALS_KEYRING=str(tmp_path / "keyring"))

    assert checked.returncode == 1
    assert "lost-1" in checked.stderr and "fine-1" not in checked.stderr
    assert lost.ssh_secret_encrypted not in checked.stdout + checked.stderr


def test_check_credentials_says_all_is_well_when_every_key_is_there(settings, make_server):
    settings.CREDENTIALS_KEY = [OLD_KEY]
    make_server()
    settings.CREDENTIALS_KEY = [NEW_KEY, OLD_KEY]

    assert "All 1 server credentials can be decrypted." in command("check_credentials")


def test_credentials_under_the_key_derived_from_secret_key_move_to_a_new_credentials_key(
        settings, make_server):
    settings.CREDENTIALS_KEY = []
    server = make_server()
    settings.CREDENTIALS_KEY = [NEW_KEY]
    assert fresh(server).ssh_secret() == CLIENT_KEY  # still read with the derived key

    command("reencrypt_credentials")

    settings.SECRET_KEY = "another-secret-key-" * 3
    assert fresh(server).ssh_secret() == CLIENT_KEY


def test_restored_keys_decrypt_but_never_encrypt(settings, make_server, keyring):
    settings.CREDENTIALS_KEY = [OLD_KEY]
    server = make_server()
    settings.CREDENTIALS_KEY = [NEW_KEY]

    assert secrets_box.install_keyring_keys([OLD_KEY]) == [OLD_KEY]

    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    assert fresh(server).ssh_secret() == CLIENT_KEY
    assert decrypts_with(NEW_KEY, make_server().ssh_secret_encrypted)
    assert secrets_box.install_keyring_keys([OLD_KEY]) == []  # installed once


def test_a_malformed_credentials_key_stops_start_up_without_showing_it(tmp_path):
    started = manage("check", CREDENTIALS_KEY=f"{NEW_KEY},not-a-key-but-maybe-a-secret",
                     DERPMGR_DATA_DIR=str(tmp_path))

    assert started.returncode != 0
    assert "CREDENTIALS_KEY entry 2 is not a Fernet key" in started.stderr
    assert "not-a-key-but-maybe-a-secret" not in started.stderr
