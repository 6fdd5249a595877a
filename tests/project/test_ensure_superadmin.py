"""manage.py ensure_superadmin: the first super admin, exactly once."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Role, User
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _no_admin_env(monkeypatch):
    monkeypatch.delenv("DERPMGR_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("DERPMGR_ADMIN_PASSWORD", raising=False)


def ensure() -> str:
    out = StringIO()
    call_command("ensure_superadmin", stdout=out)
    return out.getvalue()


def _printed_password(output: str) -> str:
    return re.search(r"password:\s+(\S+)", output).group(1)


def test_creates_one_super_admin_with_a_printed_password_that_signs_in(db):
    output = ensure()
    admin = User.objects.get(role=Role.SUPERADMIN)
    assert admin.email == "admin@derpmgr.local"
    assert admin.is_superuser and admin.is_staff and admin.email_verified
    assert admin.check_password(_printed_password(output))


def test_takes_email_and_password_from_the_environment_without_printing_it(db, monkeypatch):
    monkeypatch.setenv("DERPMGR_ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setenv("DERPMGR_ADMIN_PASSWORD", "a secret from the environment")
    output = ensure()
    admin = User.objects.get(role=Role.SUPERADMIN)
    assert admin.email == "boss@example.com"
    assert admin.check_password("a secret from the environment")
    assert "a secret from the environment" not in output
    assert "boss@example.com" in output


def test_an_empty_password_variable_means_generate_and_print_one(db, monkeypatch):
    monkeypatch.setenv("DERPMGR_ADMIN_PASSWORD", "")
    monkeypatch.setenv("DERPMGR_ADMIN_EMAIL", "")
    output = ensure()
    admin = User.objects.get(role=Role.SUPERADMIN)
    assert admin.email == "admin@derpmgr.local"
    assert admin.check_password(_printed_password(output))


def test_the_second_run_does_nothing(db):
    first = ensure()
    second = ensure()
    assert User.objects.filter(role=Role.SUPERADMIN).count() == 1
    assert _printed_password(first) not in second
    assert "password" not in second.lower()


def test_an_existing_super_admin_means_nothing_to_do(superadmin):
    ensure()
    assert list(User.objects.filter(role=Role.SUPERADMIN)) == [superadmin]


def test_a_customer_called_admin_does_not_block_the_first_super_admin(db):
    UserFactory(username="admin", email="someone@example.com")
    output = ensure()
    admin = User.objects.get(role=Role.SUPERADMIN)
    assert admin.check_password(_printed_password(output))
    assert admin.username != "admin"


def test_an_address_taken_by_a_customer_is_refused_not_promoted(customer, monkeypatch):
    monkeypatch.setenv("DERPMGR_ADMIN_EMAIL", customer.email.upper())
    with pytest.raises(CommandError):
        ensure()
    customer.refresh_from_db()
    assert customer.role == Role.USER
    assert not User.objects.filter(role=Role.SUPERADMIN).exists()
