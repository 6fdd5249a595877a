"""The recorder writes what the decisions queued, off the request path: each admitted device's last
connection time and address, each relay's count of refused connections."""

from datetime import timedelta

from django.utils import timezone

from apps.acl import admission, services
from apps.containers.models import DerpInstance
from tests.acl.conftest import ask, node_key


def test_a_batch_sets_last_seen_and_counts_refusals(renter, relays):
    device = services.add_device(user=renter, name="laptop", node_key=node_key(1))
    relay_a, relay_b = relays[0], relays[1]
    t0 = timezone.now()
    admission._recorder.flush([
        (device.pk, relay_a.pk, "198.51.100.9", t0),
        (device.pk, relay_b.pk, "2001:db8::2", t0 + timedelta(seconds=5)),
        (device.pk, relay_a.pk, "198.51.100.1", t0 - timedelta(seconds=5)),  # arrived late, older
        (None, relay_a.pk, "203.0.113.1", t0), (None, relay_a.pk, "203.0.113.1", t0),
        (None, relay_b.pk, "not an address", t0),
        (None, None, "203.0.113.2", t0),  # an unknown token: nothing to count on
    ])
    device.refresh_from_db()
    assert device.last_seen_at == t0 + timedelta(seconds=5) and device.last_ip == "2001:db8::2"
    counts = dict(DerpInstance.objects.filter(user=renter).values_list("pk", "denied_connections"))
    assert (counts[relay_a.pk], counts[relay_b.pk], counts[relays[2].pk]) == (2, 1, 0)


def test_a_source_that_is_no_address_leaves_last_ip_empty(renter, relays):
    device = services.add_device(user=renter, name="laptop", node_key=node_key(1))
    admission._recorder.flush([(device.pk, relays[0].pk, "garbage", timezone.now())])
    device.refresh_from_db()
    assert device.last_seen_at is not None and device.last_ip is None


def test_decisions_queue_what_the_recorder_writes(client, renter, relays, recorded):
    device = services.add_device(user=renter, name="laptop", node_key=node_key(1))
    services.issue_version(user=renter, reason="test")
    ask(client, relays[0], node_key(1), source="198.51.100.30")
    ask(client, relays[0], node_key(2), source="198.51.100.31")

    admission._recorder.flush(recorded)

    device.refresh_from_db()
    assert device.last_ip == "198.51.100.30"
    assert DerpInstance.objects.get(pk=relays[0].pk).denied_connections == 1


def test_the_queue_is_drained_in_one_write(renter, relays, monkeypatch):
    recorder = admission._Recorder()
    batches = []
    monkeypatch.setattr(recorder, "flush", batches.append)
    for n in range(3):
        recorder.queue.put((None, relays[0].pk, f"203.0.113.{n}", timezone.now()))
    recorder.drain()
    assert [len(batch) for batch in batches] == [3]


def test_a_device_admitted_again_within_a_minute_is_queued_once(monkeypatch):
    recorder = admission._Recorder()
    monkeypatch.setattr(recorder, "_thread", type("Alive", (), {"is_alive": lambda self: True})())
    for _ in range(3):
        recorder.note(7, 1, "198.51.100.1")  # admitted three times
        recorder.note(None, 1, "203.0.113.1")  # refused three times
    recorder.note(None, None, "203.0.113.2")  # an unknown token
    queued = recorder._take()
    assert [(device, instance) for device, instance, _source, _at in queued] == [
        (7, 1), (None, 1), (None, 1), (None, 1)]
