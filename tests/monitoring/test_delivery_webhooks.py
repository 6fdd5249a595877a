"""Webhooks: a real receiver gets a signed JSON body once per alert opening and once per
resolution, however often or concurrently delivery runs; failures are retried with backoff and,
after the last attempt, left visible as failed."""

import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.monitoring import delivery
from apps.monitoring.models import AlertDelivery, DeliveryState
from tests.conftest import signed_in_client

from .webhook_receiver import healthy_again, run_at_once, unhealthy, webhook

pytestmark = pytest.mark.usefixtures("enqueued")



def test_the_receiver_gets_one_signed_body_per_opening_and_per_resolution(
        transactional_db, receiver, superadmin, make_server, enqueued):
    _channel, secret = webhook(superadmin, receiver.url)
    server = make_server("sh-1")
    alert = unhealthy(server)
    unhealthy(server, message="still down")  # seen again: no new notification

    delivery.deliver_due()
    delivery.deliver_due()  # a second run (the periodic one) finds nothing left to send

    [opened] = receiver.wait_for(1)
    assert opened.path == "/hooks/derpmgr?team=ops"
    assert opened.signed_with(secret)
    assert opened.headers["Content-Type"] == "application/json"
    assert opened.headers["User-Agent"] == "derpmgr"
    assert opened.headers["X-Derpmgr-Event"] == "opened"
    row = AlertDelivery.objects.get(alert=alert, event="opened")
    assert opened.headers["X-Derpmgr-Delivery"] == str(row.pk)
    body = opened.json
    assert body["event"] == "opened" and body["panel"] == "http://testserver"
    assert body["alert"] == {
        "id": alert.pk, "type": "server_unhealthy", "severity": "critical",
        "target_kind": "server", "target_id": server.pk, "target": "sh-1",
        "server_id": server.pk, "message": "still down", "details": {"failures": 3},
        "opened_at": alert.opened_at.isoformat().replace("+00:00", "Z"), "resolved_at": None}
    assert (row.state, row.attempts, row.response_status) == (DeliveryState.SENT, 1, 200)
    assert [name for name, *_ in enqueued] == ["deliver_alerts"]  # asked once it committed

    healthy_again(server)
    errors = run_at_once(4, delivery.deliver_due)

    assert errors == []
    assert receiver.events() == ["opened", "resolved"]
    resolved = receiver.received[1]
    assert resolved.signed_with(secret)
    assert resolved.json["alert"]["resolved_at"] is not None
    assert not any(r.signed_with("another secret") for r in receiver.received)
    assert set(AlertDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_a_failing_receiver_is_retried_with_backoff_and_succeeds_once(db, receiver, superadmin,
                                                                      make_server):
    webhook(superadmin, receiver.url)
    receiver.answers.extend([500])
    alert = unhealthy(make_server())
    now = timezone.now()

    assert delivery.deliver_due(now=now).retried == 1
    row = AlertDelivery.objects.get(alert=alert)
    assert (row.state, row.attempts, row.response_status) == (DeliveryState.QUEUED, 1, 500)
    assert row.last_error == "HTTP 500"
    assert row.next_attempt_at == now + timedelta(seconds=30)

    assert delivery.deliver_due(now=now + timedelta(seconds=29)).sent == 0  # not yet due
    assert len(receiver.received) == 1
    assert delivery.deliver_due(now=now + timedelta(seconds=30)).sent == 1
    assert delivery.deliver_due(now=now + timedelta(hours=9)).sent == 0

    row.refresh_from_db()
    assert (row.state, row.attempts, row.response_status, row.last_error) == (
        DeliveryState.SENT, 2, 200, "")
    assert [r.headers["X-Derpmgr-Delivery"] for r in receiver.received] == [str(row.pk)] * 2


def test_after_the_last_attempt_the_delivery_is_failed_and_visible(db, receiver, superadmin,
                                                                   make_server, settings):
    settings.ALERT_WEBHOOK_MAX_ATTEMPTS = 3
    webhook(superadmin, receiver.url)
    receiver.answers.extend([503] * 10)
    alert = unhealthy(make_server())
    moment = timezone.now()
    waits = []
    for _attempt in range(3):
        delivery.deliver_due(now=moment)
        row = AlertDelivery.objects.get(alert=alert)
        waits.append(row.next_attempt_at - moment)
        moment = row.next_attempt_at
    delivery.deliver_due(now=moment + timedelta(days=2))

    row.refresh_from_db()
    assert len(receiver.received) == 3
    assert waits[:2] == [timedelta(seconds=30), timedelta(minutes=2)]
    assert (row.state, row.attempts, row.response_status, row.last_error) == (
        DeliveryState.FAILED, 3, 503, "HTTP 503")
    page = signed_in_client(superadmin).get("/admin/monitoring/alertdelivery/?state=failed")
    assert page.status_code == 200
    assert "HTTP 503" in page.content.decode()


def test_a_webhook_re_pointed_at_loopback_after_it_was_saved_is_not_posted(
        db, receiver, superadmin, make_server, settings):
    webhook(superadmin, receiver.url)
    alert = unhealthy(make_server())
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = False  # the check at send time refuses it now

    delivery.deliver_due()

    row = AlertDelivery.objects.get(alert=alert)
    assert receiver.received == []
    assert row.state == DeliveryState.QUEUED and "loopback" in row.last_error


def test_the_connection_goes_to_the_address_that_was_checked(db, receiver, superadmin,
                                                             make_server, monkeypatch):
    """A name is resolved once per send and the POST goes to that address (Host: the name):
    a resolver answering differently a moment later cannot redirect it."""
    answers = iter([[("127.0.0.1", receiver.port)]] + [[("10.9.9.9", receiver.port)]] * 10)
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host != "hooks.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", a) for a in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    channel, _secret = webhook(superadmin, receiver.url)
    channel.url = f"http://hooks.example:{receiver.port}/in"
    channel.save(update_fields=["url"])
    unhealthy(make_server())

    assert delivery.deliver_due().sent == 1, AlertDelivery.objects.get().last_error

    [received] = receiver.received
    assert received.headers["Host"] == f"hooks.example:{receiver.port}"


def test_a_name_with_any_refused_address_is_not_posted(db, receiver, superadmin, make_server,
                                                       monkeypatch, settings):
    channel, _secret = webhook(superadmin, receiver.url)
    channel.url = "http://hooks.example/in"
    channel.save(update_fields=["url"])
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 80))])
    alert = unhealthy(make_server())

    delivery.deliver_due()

    row = AlertDelivery.objects.get(alert=alert)
    assert row.state == DeliveryState.QUEUED and "private" in row.last_error


def test_a_disabled_channel_gets_nothing_and_its_queued_rows_fail(db, receiver, superadmin,
                                                                  make_server):
    channel, _secret = webhook(superadmin, receiver.url)
    alert = unhealthy(make_server())
    channel.enabled = False
    channel.save(update_fields=["enabled"])

    delivery.deliver_due()
    unhealthy(make_server())

    assert receiver.received == []
    assert AlertDelivery.objects.get(alert=alert).state == DeliveryState.FAILED
    assert AlertDelivery.objects.count() == 1  # the second alert queued nothing for it


def test_a_channel_gets_only_alerts_from_its_severity_up(db, receiver, superadmin, make_server):
    webhook(superadmin, receiver.url, min_severity="critical")
    unhealthy(make_server(), severity="warning")
    critical = unhealthy(make_server(), severity="critical")

    assert list(AlertDelivery.objects.values_list("alert", flat=True)) == [critical.pk]


@pytest.mark.parametrize("answer", [301, 404])
def test_a_redirect_or_an_error_answer_is_not_success(db, receiver, superadmin, make_server,
                                                      answer):
    webhook(superadmin, receiver.url)
    receiver.answers.append(answer)
    alert = unhealthy(make_server())

    delivery.deliver_due()

    row = AlertDelivery.objects.get(alert=alert)
    assert (row.state, row.response_status) == (DeliveryState.QUEUED, answer)
    assert len(receiver.received) == 1


def test_a_receiver_trickling_its_answer_is_cut_off(db, superadmin, make_server, settings):
    """Each byte comes within the per-read timeout, but the whole answer would take minutes."""
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    settings.ALERT_WEBHOOK_TIMEOUT = 0.5
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle():
        peer, _address = listener.accept()
        with peer:
            peer.recv(65536)
            while not stop.is_set():
                try:
                    peer.sendall(b"H")
                except OSError:
                    return
                stop.wait(0.2)

    threading.Thread(target=trickle, daemon=True).start()
    webhook(superadmin, f"http://127.0.0.1:{listener.getsockname()[1]}/")
    alert = unhealthy(make_server())
    try:
        started = timezone.now()
        delivery.deliver_due()
        took = timezone.now() - started
    finally:
        stop.set()
        listener.close()

    row = AlertDelivery.objects.get(alert=alert)
    assert (row.state, row.last_error) == (DeliveryState.QUEUED, "no answer within 1.5 s")
    assert took < timedelta(seconds=5)
