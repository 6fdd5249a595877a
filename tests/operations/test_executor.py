"""How an operation runs: recorded with the change, claimed once, retried when the failure is
transient, given up (and cleaned up after) when it is not, and taken up again when its worker
is lost. Handlers here are stand-ins registered under test kinds."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from apps.operations import services as operations
from apps.operations.models import Operation, OperationState
from apps.servers.drivers import RemoteError
from derpmgr.errors import ServiceError


@pytest.fixture
def handler():
    """Register a handler for the kind "test" that does what the test tells it to."""
    calls, cleanups = [], []
    behaviour = {"do": lambda operation, context: {"ok": True}}

    def run(operation, context):
        calls.append((operation.pk, operation.attempts, context.final_attempt))
        return behaviour["do"](operation, context)

    operations._handlers["test"] = operations.Handler(
        run=run, give_up=lambda operation, error: cleanups.append((operation.pk, error)))
    yield type("Handler", (), {"calls": calls, "cleanups": cleanups, "behaviour": behaviour})
    operations._handlers.pop("test", None)


@pytest.fixture
def sent(monkeypatch):
    """What was handed to the broker: [(operation id, countdown)]."""
    calls = []
    monkeypatch.setattr(operations, "send",
                        lambda operation_id, countdown=0: calls.append((operation_id, countdown)))
    return calls


def test_the_row_is_written_with_the_change_and_sent_only_once_it_commits(
        db, django_capture_on_commit_callbacks, sent):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        operation = operations.enqueue("test", args={"n": 1})
        assert sent == []  # nothing leaves before the commit
    assert operation.state == OperationState.QUEUED
    assert sent == [(operation.pk, 0)]


def test_work_asked_for_in_a_transaction_that_rolls_back_never_exists(db, sent):
    with pytest.raises(RuntimeError), transaction.atomic():
        operations.enqueue("test")
        raise RuntimeError("the change failed")
    assert not Operation.objects.exists()


def test_a_broker_that_is_down_never_fails_the_request(db, django_capture_on_commit_callbacks,
                                                       monkeypatch, caplog):
    from apps.operations import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(tasks.run_operation, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        operation = operations.enqueue("test")

    assert Operation.objects.get(pk=operation.pk).state == OperationState.QUEUED
    assert "the sweeper will send it" in caplog.text


def test_one_key_one_active_operation(db, sent):
    first = operations.enqueue("test", dedupe_key="server:1")
    again = operations.enqueue("test", dedupe_key="server:1")
    other = operations.enqueue("test", dedupe_key="server:2")
    assert again.pk == first.pk and other.pk != first.pk

    Operation.objects.filter(pk=first.pk).update(state=OperationState.DONE)
    assert operations.enqueue("test", dedupe_key="server:1").pk != first.pk


def test_an_operation_runs_once_however_often_it_is_sent(db, handler, sent):
    operation = operations.enqueue("test")

    done = operations.execute(operation.pk)
    assert operations.execute(operation.pk) is None  # a duplicate message finds nothing to do

    assert (done.state, done.result, done.progress, done.attempts) == ("done", {"ok": True}, 100, 1)
    assert len(handler.calls) == 1


def test_a_transient_failure_is_tried_again_later_then_given_up(db, handler, sent):
    def unreachable(operation, context):
        raise RemoteError("connection reset", transient=True, code="unreachable")

    handler.behaviour["do"] = unreachable
    operation = operations.enqueue("test", max_attempts=2)

    first = operations.execute(operation.pk)
    assert first.state == OperationState.QUEUED and first.not_before > timezone.now()
    assert first.error == "connection reset"
    assert operations.execute(operation.pk) is None  # not before its time
    assert sent[-1][0] == operation.pk and sent[-1][1] > 0  # sent again, to run later

    with time_machine.travel(first.not_before + timedelta(seconds=1)):
        last = operations.execute(operation.pk)
    assert (last.state, last.error_code, last.attempts) == ("failed", "unreachable", 2)
    assert [final for _pk, _attempt, final in handler.calls] == [False, True]
    assert handler.cleanups == [(operation.pk, "connection reset")]


def test_a_refusal_fails_at_once_with_its_message(db, handler, sent):
    def refuse(operation, context):
        raise ServiceError("The server is full.", code="no_capacity")

    handler.behaviour["do"] = refuse
    failed = operations.execute(operations.enqueue("test").pk)
    assert (failed.state, failed.error, failed.error_code, failed.attempts) == (
        "failed", "The server is full.", "no_capacity", 1)
    assert len(handler.cleanups) == 1


def test_an_unexpected_error_fails_without_leaking_its_text(db, handler, sent, caplog):
    def crash(operation, context):
        raise KeyError("secret-ish detail")

    handler.behaviour["do"] = crash
    failed = operations.execute(operations.enqueue("test").pk)
    assert failed.state == "failed" and "secret-ish" not in failed.error
    assert "KeyError" in failed.error


def test_a_lost_worker_s_operation_is_taken_up_when_its_lease_runs_out(db, handler, sent, settings):
    operation = operations.enqueue("test")
    # A worker claimed it and died: the row says running, with a lease.
    Operation.objects.filter(pk=operation.pk).update(
        state=OperationState.RUNNING, attempts=1, claim_token="dead",
        lease_until=timezone.now() + timedelta(seconds=settings.OPERATION_LEASE_SECONDS))

    assert operations.execute(operation.pk) is None  # the lease still holds
    assert operations.sweep().expired_leases == []

    later = timezone.now() + timedelta(seconds=settings.OPERATION_LEASE_SECONDS + 1)
    with time_machine.travel(later):
        assert operations.sweep().expired_leases == [operation.pk]
        done = operations.execute(operation.pk)
    assert (done.state, done.attempts) == ("done", 2)


def test_a_worker_lost_every_time_gives_up_and_cleans_up(db, handler, sent):
    operation = operations.enqueue("test", max_attempts=2)
    Operation.objects.filter(pk=operation.pk).update(
        state=OperationState.RUNNING, attempts=2, claim_token="dead",
        lease_until=timezone.now() - timedelta(seconds=1))

    failed = operations.execute(operation.pk)

    assert (failed.state, failed.error_code) == ("failed", "worker_lost")
    assert handler.calls == [] and len(handler.cleanups) == 1


def test_a_slow_worker_that_lost_its_claim_cannot_finish_over_the_new_one(db, handler, sent):
    operation = operations.enqueue("test")

    def overtaken(operation, context):
        # Meanwhile the lease ran out and another worker took the operation over.
        Operation.objects.filter(pk=operation.pk).update(claim_token="another worker")
        return {"stale": True}

    handler.behaviour["do"] = overtaken
    assert operations.execute(operation.pk) is None
    row = Operation.objects.get(pk=operation.pk)
    assert (row.state, row.claim_token, row.result) == ("running", "another worker", {})


def test_the_sweeper_sends_again_what_nobody_picked_up(db, sent, settings):
    stale = operations.enqueue("test")
    fresh = operations.enqueue("test")
    Operation.objects.filter(pk=stale.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.OPERATION_REQUEUE_SECONDS + 1))

    report = operations.sweep()

    assert report.requeued == [stale.pk]
    assert (stale.pk, 0) in sent and (fresh.pk, 0) not in sent
    assert operations.sweep().requeued == []  # sent again once per requeue period


def test_progress_renews_the_lease_and_a_cancel_stops_at_a_safe_step(db, handler, sent):
    operation = operations.enqueue("test")
    seen = {}

    def long_work(operation, context):
        context.progress(1, 4, "moving relay 1 of 4")
        row = Operation.objects.get(pk=operation.pk)
        seen.update(progress=row.progress, message=row.progress_message, lease=row.lease_until)
        Operation.objects.filter(pk=operation.pk).update(cancel_requested=True)
        context.check_cancelled()
        return {"finished": True}

    handler.behaviour["do"] = long_work
    cancelled = operations.execute(operation.pk)
    assert seen["progress"] == 25 and seen["message"] == "moving relay 1 of 4"
    assert seen["lease"] > timezone.now()
    assert cancelled.state == OperationState.CANCELLED and cancelled.result == {}


def test_a_worker_process_that_died_on_this_host_is_taken_over_at_once(db, handler, sent):
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    operation = operations.enqueue("test")
    Operation.objects.filter(pk=operation.pk).update(
        state=OperationState.RUNNING, attempts=1, claim_token="killed",
        claimed_by=f"{operations._this_host()}:{dead.pid}",
        lease_until=timezone.now() + timedelta(minutes=5))  # the lease alone would wait

    assert operations.sweep().expired_leases == [operation.pk]
    done = operations.execute(operation.pk)
    assert (done.state, done.attempts) == ("done", 2)


def test_a_live_holder_keeps_its_operation_until_its_lease_ends(db, handler, sent):
    operation = operations.enqueue("test")
    Operation.objects.filter(pk=operation.pk).update(
        state=OperationState.RUNNING, attempts=1, claim_token="alive",
        claimed_by=operations.worker_identity(),
        lease_until=timezone.now() + timedelta(minutes=5))

    assert operations.sweep().expired_leases == []
    assert operations.execute(operation.pk) is None


def test_a_holder_in_another_pid_namespace_is_never_judged_dead(db, handler, sent):
    operation = operations.enqueue("test")
    Operation.objects.filter(pk=operation.pk).update(
        state=OperationState.RUNNING, attempts=1, claim_token="elsewhere",
        claimed_by=f"{operations._this_host()}-another-container:999999",
        lease_until=timezone.now() + timedelta(minutes=5))

    assert operations.execute(operation.pk) is None  # its lease decides


def test_progress_and_errors_are_written_in_the_language_of_who_asked(db, handler, sent):
    from django.utils.translation import gettext

    from tests.factories import UserFactory

    def refuse(operation, context):
        raise ServiceError(gettext("No such operation."), code="gone")

    handler.behaviour["do"] = refuse
    english = UserFactory(language="en")
    chinese = UserFactory(language="zh-hans")
    asked_in_english = operations.execute(operations.enqueue("test", actor=english).pk)
    asked_in_chinese = operations.execute(operations.enqueue("test", actor=chinese).pk)

    assert asked_in_english.error == "No such operation."
    assert asked_in_chinese.error == "任务不存在。"
