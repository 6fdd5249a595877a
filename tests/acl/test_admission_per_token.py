"""The admission cache is invalidated per token, in every mode (Redis, or per-process memory kept
right by the shared bucket generations): a change to one user makes that user's cached answers
stale in every process at once — here another real process — while everybody else's stay cached,
however many unrelated changes there are. An answer loaded just before a change commits never
outlives the change. A miss is one statement, reading only through indexes."""

import json
import os
import secrets
import select
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from apps.acl import admission, services
from apps.containers.models import DerpInstance, new_admission_token
from tests import parts
from tests.acl.conftest import ask, give_rental, node_key, paid_code
from tests.acl.live_panel import REPO
from tests.containers.conftest import relay

pytestmark = pytest.mark.django_db(transaction=True)  # the other process must see the rows


class Peer:
    """Another panel process (tests/acl/admission_peer.py) deciding with its own cache."""

    def __init__(self, log):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DERPMGR_ENV": "test",
               "DATABASE_URL": parts.database_url_for_subprocess(), "REDIS_URL": settings.REDIS_URL,
               "DERPMGR_DATA_DIR": str(settings.DATA_DIR), "CELERY_BROKER_URL": "memory://"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.acl.admission_peer"], cwd=REPO, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        assert self._answer() == {"ready": True}

    def _answer(self, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while not select.select([self.process.stdout], [], [], 0.1)[0]:
            assert self.process.poll() is None, "the peer process exited"
            assert time.monotonic() < deadline, "the peer process did not answer"
        return json.loads(self.process.stdout.readline())

    def ask(self, instance, key: str) -> dict:
        """{"allow": its decision, "queries": the queries it took (0: from its cache)}."""
        self.process.stdin.write(f"{instance.admission_token} {key}\n")
        self.process.stdin.flush()
        return self._answer()

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def peer(tmp_path):
    with open(tmp_path / "peer.log", "w") as log:
        other = Peer(log)
        try:
            yield other
        finally:
            other.stop()


def bucket(token: str) -> int:
    return admission._LocalEntries._offset(admission.token_hash(token))


def apart(relays, others) -> None:
    """Give `relays` tokens whose generation buckets no relay of `others` shares (1 in ~7,000
    draws would collide, and a shared bucket is dropped with its neighbour, by design)."""
    taken = {bucket(other.admission_token) for other in others}
    for instance in relays:
        while bucket(instance.admission_token) in taken:
            instance.admission_token = new_admission_token()
        DerpInstance.objects.filter(pk=instance.pk).update(admission_token=instance.admission_token)
        taken.add(bucket(instance.admission_token))


@pytest.fixture
def laptop(renter, relays):
    """Alice's laptop, registered on her three relays."""
    device = services.add_device(user=renter, name="laptop", node_key=node_key(1))
    services.issue_version(user=renter, reason="test")
    return device


@pytest.fixture
def bobs_relays(servers, relays):
    """Bob, another renter with a phone, on relays of his own (in buckets apart from Alice's)."""
    from tests.factories import UserFactory

    bob = UserFactory(username="bob")
    give_rental(bob)
    paid_code(bob)
    services.add_device(user=bob, name="phone", node_key=node_key(2))
    services.issue_version(user=bob, reason="test")
    mine = [relay(bob, server) for server in servers]
    apart(mine, relays)
    return mine


def test_a_change_to_one_user_reaches_another_process_and_drops_nobody_elses_answers(
        peer, renter, relays, laptop, bobs_relays):
    for instance in relays:
        assert peer.ask(instance, node_key(1)) == {"allow": True, "queries": 1}
    for instance in bobs_relays:
        assert peer.ask(instance, node_key(2)) == {"allow": True, "queries": 1}
        assert peer.ask(instance, node_key(2)) == {"allow": True, "queries": 0}  # now cached

    services.remove_device(actor=renter, device=laptop)  # commits, then invalidates Alice

    for instance in relays:
        assert peer.ask(instance, node_key(1)) == {"allow": False, "queries": 1}
    for instance in bobs_relays:
        assert peer.ask(instance, node_key(2)) == {"allow": True, "queries": 0}


def test_many_unrelated_changes_leave_an_answer_cached(peer, bobs_relays):
    [bobs] = bobs_relays[:1]
    assert peer.ask(bobs, node_key(2)) == {"allow": True, "queries": 1}
    unrelated = []
    while len(unrelated) < 500:
        token = secrets.token_urlsafe(32)
        if bucket(token) != bucket(bobs.admission_token):
            unrelated.append(token)
    for token in unrelated:
        admission.invalidate_tokens([token])
    assert peer.ask(bobs, node_key(2)) == {"allow": True, "queries": 0}


def test_an_answer_loaded_just_before_a_change_commits_does_not_outlive_it(
        renter, relays, laptop, monkeypatch):
    client, real_load = Client(), admission._load

    def load_then_change(token):
        answer = real_load(token)  # the database still admits the laptop …
        services.remove_device(actor=renter, device=laptop)  # … then the removal commits
        return answer

    monkeypatch.setattr(admission, "_load", load_then_change)
    assert ask(client, relays[0], node_key(1)) is True  # decided before the change: fair
    monkeypatch.setattr(admission, "_load", real_load)
    assert ask(client, relays[0], node_key(1)) is False  # the answer was not kept


def test_a_miss_is_one_statement(renter, relays, laptop, django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(1):
        assert ask(client, relays[0], node_key(1)) is True
    with django_assert_num_queries(0):
        assert ask(client, relays[0], node_key(1)) is True
    with django_assert_num_queries(1):
        assert ask(client, DerpInstance(admission_token=secrets.token_urlsafe(32)), node_key(1)) is False


def test_the_miss_statement_reads_through_indexes_only(renter, relays, laptop):
    sql, params = admission._miss_query.statement(relays[0].admission_token)
    with transaction.atomic(), connection.cursor() as cursor:
        if parts.on_postgres():
            cursor.execute("SET LOCAL enable_seqscan = off")  # a missing index shows as a Seq Scan
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = [line for (line,) in cursor.fetchall()]
            assert not [line for line in plan if "Seq Scan" in line], plan
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = [row[-1] for row in cursor.fetchall()]
            assert not [step for step in plan if step.startswith("SCAN")], plan
