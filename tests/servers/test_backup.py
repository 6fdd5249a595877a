"""manage.py backup / restore: one private archive with the database, a manifest and the keys that
read the server credentials; a restore brings the database back with readable credentials, or
says exactly why a credential cannot be read."""

import io
import json
import stat
import subprocess
import tarfile
from datetime import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.audit.models import AuditEvent
from apps.servers.backup import archive
from apps.servers.models import Server
from tests.servers.conftest import CLIENT_KEY
from tests.servers.credential_keys import (
    NEW_KEY,
    OLD_KEY,
    command,
    decrypts_with,
    use_own_keyring,
)

pytestmark = pytest.mark.django_db(transaction=True)  # the dump must see committed rows


@pytest.fixture(autouse=True)
def keyring(settings, tmp_path):
    return use_own_keyring(settings, tmp_path)


@pytest.fixture
def archive_path(tmp_path):
    return tmp_path / "backups" / "derpmgr.tar.gz"


def wipe() -> None:
    call_command("flush", interactive=False, verbosity=0)


def members(path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def rewritten(path, target, *, rename: dict | None = None, **manifest_changes):
    """A copy of the archive at `path` with its manifest changed (and members renamed)."""
    contents = members(path)
    manifest = json.loads(contents.pop(archive.MANIFEST))
    manifest.update(manifest_changes)
    contents = {(rename or {}).get(name, name): data for name, data in contents.items()}
    with tarfile.open(target, "w:gz") as tar:
        for name, data in {archive.MANIFEST: json.dumps(manifest).encode(), **contents}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


# --- What a backup holds ----------------------------------------------------------------------

def test_a_backup_is_a_private_archive_with_manifest_dump_and_keys(settings, make_server, archive_path):
    settings.CREDENTIALS_KEY = [NEW_KEY, OLD_KEY]
    make_server()

    output = command("backup", "--output", str(archive_path))

    assert stat.S_IMODE(archive_path.stat().st_mode) == 0o600
    assert "mode 0600" in output and str(archive_path) in output
    contents = members(archive_path)
    dump_file = archive.DUMP_FILES[connection.vendor]
    assert set(contents) == {"manifest.json", dump_file, "keys.json"}
    manifest = json.loads(contents["manifest.json"])
    assert manifest["format"] == archive.FORMAT_VERSION
    assert manifest["engine"] == connection.vendor
    assert datetime.fromisoformat(manifest["created_at"]).utcoffset().total_seconds() == 0
    latest = max(name for app, name in MigrationLoader(connection).disk_migrations if app == "servers")
    assert manifest["migrations"]["servers"] == [latest]
    head = subprocess.run(["git", "-C", str(settings.BASE_DIR), "rev-parse", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    assert manifest["git_commit"] == head
    assert manifest["keys_included"] is True
    keys = json.loads(contents["keys.json"])
    assert keys == {"credentials_keys": [NEW_KEY], "secret_key": None}  # OLD_KEY reads nothing
    assert AuditEvent.objects.filter(action="servers.backup_created").count() == 1


def test_credentials_under_the_key_derived_from_secret_key_travel_with_secret_key(settings, make_server,
                                                                                  archive_path):
    settings.CREDENTIALS_KEY = []
    make_server()

    command("backup", "--output", str(archive_path))

    keys = json.loads(members(archive_path)["keys.json"])
    assert keys["secret_key"] == settings.SECRET_KEY
    assert len(keys["credentials_keys"]) == 1


def test_a_backup_without_keys_says_credentials_will_need_credentials_key(make_server, archive_path):
    make_server()

    output = command("backup", "--output", str(archive_path), "--without-keys")

    assert "keys.json" not in members(archive_path)
    assert "CREDENTIALS_KEY" in output and "holds no keys" in output


def test_a_backup_never_replaces_an_existing_file(archive_path):
    archive_path.parent.mkdir()
    archive_path.write_text("an older backup")

    with pytest.raises(CommandError, match="exists already"):
        command("backup", "--output", str(archive_path))

    assert archive_path.read_text() == "an older backup"


def test_without_output_the_archive_goes_to_backup_dir(settings, tmp_path):
    settings.BACKUP_DIR = str(tmp_path / "kept")

    command("backup")

    [written] = (tmp_path / "kept").glob("derpmgr-*.tar.gz")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


# --- Restoring ----------------------------------------------------------------------------------

def test_backup_wipe_restore_brings_servers_back_with_readable_credentials(settings, make_server,
                                                                          superadmin, archive_path):
    settings.CREDENTIALS_KEY = [NEW_KEY]
    servers = [make_server(), make_server()]
    command("backup", "--output", str(archive_path))
    wipe()
    assert not Server.objects.exists()

    output = command("restore", str(archive_path))

    assert sorted(Server.objects.values_list("pk", flat=True)) == sorted(s.pk for s in servers)
    assert all(server.ssh_secret() == CLIENT_KEY for server in Server.objects.all())
    assert superadmin.__class__.objects.filter(pk=superadmin.pk).exists()
    assert "Every server credential can be decrypted." in output
    assert AuditEvent.objects.filter(action="servers.backup_restored").exists()


def test_restore_refuses_a_database_that_holds_data_unless_forced(make_server, archive_path):
    make_server("in-the-backup")
    command("backup", "--output", str(archive_path))
    make_server("made-after-the-backup")

    with pytest.raises(CommandError) as refused:
        command("restore", str(archive_path))

    assert "not empty" in str(refused.value) and "--force" in str(refused.value)
    assert "servers.Server" in str(refused.value)
    assert Server.objects.filter(name="made-after-the-backup").exists()
    command("restore", str(archive_path), "--force")
    assert sorted(Server.objects.values_list("name", flat=True)) == ["in-the-backup"]


def test_restore_elsewhere_installs_the_archives_keys_as_decrypt_only_keys(settings, make_server, keyring,
                                                                          archive_path):
    settings.CREDENTIALS_KEY = [OLD_KEY]
    server = make_server()
    command("backup", "--output", str(archive_path))
    wipe()
    settings.CREDENTIALS_KEY = [NEW_KEY]  # another machine, another key
    settings.SECRET_KEY = "another-installation-" * 3

    output = command("restore", str(archive_path))

    assert str(keyring) in output and "reencrypt_credentials" in output
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    assert OLD_KEY in keyring.read_text()
    assert Server.objects.get(pk=server.pk).ssh_secret() == CLIENT_KEY
    command("reencrypt_credentials")
    keyring.unlink()
    assert Server.objects.get(pk=server.pk).ssh_secret() == CLIENT_KEY
    assert decrypts_with(NEW_KEY, Server.objects.get(pk=server.pk).ssh_secret_encrypted)


def test_restore_of_a_keyless_archive_elsewhere_names_what_it_cannot_read_and_why(settings, make_server,
                                                                                 keyring, archive_path):
    settings.CREDENTIALS_KEY = [OLD_KEY]
    server = make_server("needs-the-old-key")
    command("backup", "--output", str(archive_path), "--without-keys")
    wipe()
    settings.CREDENTIALS_KEY = [NEW_KEY]

    with pytest.raises(CommandError) as failed:
        command("restore", str(archive_path))

    message = str(failed.value)
    assert "needs-the-old-key" in message and "without its keys" in message
    assert "CREDENTIALS_KEY" in message
    assert server.ssh_secret_encrypted not in message
    assert Server.objects.filter(pk=server.pk).exists()  # the database itself was restored
    assert not keyring.exists()
    settings.CREDENTIALS_KEY = [NEW_KEY, OLD_KEY]  # what the message says to do
    assert Server.objects.get(pk=server.pk).ssh_secret() == CLIENT_KEY


# --- Archives that cannot be restored ---------------------------------------------------------

def test_an_archive_that_is_not_a_backup_is_refused_clearly(make_server, tmp_path):
    make_server("untouched")
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")

    with pytest.raises(CommandError, match="is not a readable derpmgr backup"):
        command("restore", str(garbage), "--force")
    with pytest.raises(CommandError, match="does not exist"):
        command("restore", str(tmp_path / "missing.tar.gz"), "--force")

    assert Server.objects.filter(name="untouched").exists()


def test_an_archive_of_another_format_version_is_refused(make_server, archive_path, tmp_path):
    command("backup", "--output", str(archive_path))
    make_server("untouched")
    future = rewritten(archive_path, tmp_path / "future.tar.gz", format=2)

    with pytest.raises(CommandError) as refused:
        command("restore", str(future), "--force")

    assert "format 2" in str(refused.value) and "format 1" in str(refused.value)
    assert Server.objects.filter(name="untouched").exists()


def test_an_archive_of_the_other_database_engine_is_refused(make_server, archive_path, tmp_path):
    command("backup", "--output", str(archive_path))
    make_server("untouched")
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    moved = rewritten(archive_path, tmp_path / "other.tar.gz", engine=other,
                      database_file=archive.DUMP_FILES[other],
                      rename={archive.DUMP_FILES[connection.vendor]: archive.DUMP_FILES[other]})

    with pytest.raises(CommandError) as refused:
        command("restore", str(moved), "--force")

    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    assert f"holds a {names[other]} database" in str(refused.value)
    assert f"uses {names[connection.vendor]}" in str(refused.value)
    assert Server.objects.filter(name="untouched").exists()


def test_an_archive_made_by_newer_code_is_refused(make_server, archive_path, tmp_path):
    command("backup", "--output", str(archive_path))
    make_server("untouched")
    newer = rewritten(archive_path, tmp_path / "newer.tar.gz", git_commit="f" * 40,
                      migrations={"servers": ["0999_from_the_future"]})

    with pytest.raises(CommandError) as refused:
        command("restore", str(newer), "--force")

    assert "servers.0999_from_the_future" in str(refused.value)
    assert Server.objects.filter(name="untouched").exists()


# --- PostgreSQL's tools --------------------------------------------------------------------------

@pytest.mark.postgres
def test_pg_dump_gets_the_password_from_the_environment_only(monkeypatch, archive_path):
    password = connection.settings_dict["PASSWORD"]
    seen = []
    real_run = subprocess.run

    def spy(argv, *args, **kwargs):
        seen.append((argv, kwargs.get("env")))
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)

    output = command("backup", "--output", str(archive_path))

    dumps = [(argv, env) for argv, env in seen if argv[0].endswith("pg_dump") and "--version" not in argv]
    assert len(dumps) == 1
    argv, env = dumps[0]
    assert env["PGDATABASE"] == connection.settings_dict["NAME"]
    if password:
        assert env["PGPASSWORD"] == password
        assert all(password not in arg for arg in argv)
        assert password not in output


@pytest.mark.postgres
def test_a_missing_pg_dump_is_a_clear_error(monkeypatch, archive_path, tmp_path):
    (tmp_path / "empty-path").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))

    with pytest.raises(CommandError) as refused:
        command("backup", "--output", str(archive_path))

    assert "pg_dump is not installed" in str(refused.value)
    assert "postgresql-client-" in str(refused.value)
    assert not archive_path.exists()


# --- Sealed with a passphrase -------------------------------------------------------------------

def test_an_archive_sealed_with_a_passphrase_opens_only_with_it(make_server, archive_path, tmp_path):
    make_server("sealed-1")
    passphrase, wrong = tmp_path / "passphrase", tmp_path / "wrong"
    passphrase.write_text("correct horse battery staple\n")
    wrong.write_text("incorrect horse\n")

    output = command("backup", "--output", str(archive_path), "--passphrase-file", str(passphrase))

    assert "sealed" in output and stat.S_IMODE(archive_path.stat().st_mode) == 0o600
    assert not tarfile.is_tarfile(archive_path)
    with pytest.raises(CommandError, match="give --passphrase-file"):
        command("restore", str(archive_path), "--force")
    with pytest.raises(CommandError, match="passphrase does not open"):
        command("restore", str(archive_path), "--force", "--passphrase-file", str(wrong))
    wipe()
    command("restore", str(archive_path), "--passphrase-file", str(passphrase))
    assert Server.objects.get(name="sealed-1").ssh_secret() == CLIENT_KEY
