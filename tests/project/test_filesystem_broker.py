"""The embedded broker (derpmgr/broker.py, kombu's filesystem transport): a message is visible to
workers only once whole, and an idle worker is woken by its arrival instead of finding it at its
next poll. Real kombu connections on a real folder."""

import os
import threading
import uuid

import pytest
from kombu import Connection
from kombu.transport.virtual import Empty

from derpmgr import broker


def connect(folder, **options) -> Connection:
    return Connection("filesystem://", transport="derpmgr.broker:Transport", transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder),
        "control_folder": str(folder / "control"), "store_processed": False, **options})


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "control").mkdir()
    return tmp_path


@pytest.fixture
def queue_name():
    """A queue of the test's own: kombu remembers bindings per transport class, across folders."""
    return f"test-{uuid.uuid4().hex[:12]}"


def test_the_settings_choose_this_transport_for_the_filesystem_broker(settings):
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert settings.CELERY_BROKER_TRANSPORT == "derpmgr.broker:Transport"


def test_a_message_is_invisible_to_consumers_until_it_is_whole(folder, queue_name, monkeypatch):
    seen_before_whole = []
    rename = os.rename

    def look_then_rename(source, target):
        with connect(folder) as reader:
            try:
                reader.default_channel._get(queue_name)
                seen_before_whole.append("a message")
            except Empty:
                seen_before_whole.append(None)
        rename(source, target)

    monkeypatch.setattr(broker.os, "rename", look_then_rename)
    with connect(folder) as writer:
        writer.SimpleQueue(queue_name).put({"n": 1})
    monkeypatch.undo()

    assert seen_before_whole == [None]  # written in full under a name no queue matches, first
    with connect(folder) as reader:
        message = reader.SimpleQueue(queue_name).get(timeout=5)
        message.ack()
        assert message.payload == {"n": 1}
    assert not [name for name in os.listdir(folder) if name.endswith(".partial")]


def test_an_idle_consumer_is_woken_by_an_arrival_not_by_its_polling(folder, queue_name, monkeypatch):
    """Polling once an hour: only the wake-up can deliver the message before the deadline."""
    monkeypatch.setattr(broker.Transport, "IDLE_LOOK_SECONDS", 3600)
    waiting = threading.Event()
    wait = broker.Arrivals.wait

    def noted_wait(self, seconds):
        waiting.set()
        wait(self, seconds)

    monkeypatch.setattr(broker.Arrivals, "wait", noted_wait)
    received = []

    def consume():
        with connect(folder, polling_interval=3600) as reader:
            queue = reader.SimpleQueue(queue_name)
            try:
                message = queue.get(timeout=60)
                message.ack()
                received.append(message.payload)
            except queue.Empty:
                received.append("nothing")

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert waiting.wait(30), "the consumer never waited"  # it looked, found nothing, and waits
    with connect(folder) as writer:
        writer.SimpleQueue(queue_name).put({"n": 2})
    consumer.join(30)
    assert received == [{"n": 2}]
