"""The pages that follow operations: one operation's page polls its progress part with htmx
while the work is queued or running and stops once it has finished; a server's page lists its
recent operations; a customer's relay list shows their provisioning while it is under way."""

import pytest

from apps.containers import requests, services
from apps.operations.models import Operation, OperationKind, OperationState
from apps.servers.models import Server
from tests.conftest import signed_in_client
from tests.containers.conftest import give_rental, make_server, relay
from tests.servers.conftest import HOST_KEY

HTMX = {"HX-Request": "true"}
POLLING = 'hx-trigger="every 2s"'


@pytest.fixture
def ops(admin_user):
    return signed_in_client(admin_user)


@pytest.fixture
def reconcile(admin_user, fake_engine):
    return requests.reconcile(actor=admin_user, server=make_server(name="tokyo-1"))


def test_the_page_of_queued_work_polls_its_progress(ops, reconcile):
    response = ops.get(f"/ops/operations/{reconcile.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert POLLING in page and f'hx-get="/ops/operations/{reconcile.pk}/"' in page
    assert 'data-state="queued"' in page and "tokyo-1" in page
    assert f'action="/ops/operations/{reconcile.pk}/cancel/"' in page


def test_the_polled_part_is_the_progress_alone(ops, reconcile):
    fragment = ops.get(f"/ops/operations/{reconcile.pk}/", headers=HTMX).content.decode()

    assert "<html" not in fragment
    assert fragment.startswith(f'<div id="operation-{reconcile.pk}"') and POLLING in fragment


def test_running_work_shows_its_progress_and_keeps_polling(ops, reconcile):
    Operation.objects.filter(pk=reconcile.pk).update(
        state=OperationState.RUNNING, progress=40, progress_message="Moving relay 2 of 5")

    fragment = ops.get(f"/ops/operations/{reconcile.pk}/", headers=HTMX).content.decode()

    assert POLLING in fragment and 'value="40"' in fragment and "Moving relay 2 of 5" in fragment


def test_finished_work_stops_polling_and_shows_its_result(ops, reconcile, run_operations):
    run_operations()

    fragment = ops.get(f"/ops/operations/{reconcile.pk}/", headers=HTMX).content.decode()
    page = ops.get(f"/ops/operations/{reconcile.pk}/").content.decode()

    assert 'data-state="done"' in fragment and 'id="operation-result"' in fragment
    assert "hx-trigger" not in fragment and "hx-trigger" not in page
    assert "/cancel/" not in page  # nothing left to cancel


def test_failed_work_stops_polling_and_shows_why(ops, reconcile):
    Operation.objects.filter(pk=reconcile.pk).update(state=OperationState.FAILED,
                                                     error="tokyo-1 unreachable")

    fragment = ops.get(f"/ops/operations/{reconcile.pk}/", headers=HTMX).content.decode()

    assert "hx-trigger" not in fragment and "tokyo-1 unreachable" in fragment


def test_cancelling_from_the_page(ops, reconcile, run_operations):
    response = ops.post(f"/ops/operations/{reconcile.pk}/cancel/", follow=True)

    assert response.redirect_chain == [(f"/ops/operations/{reconcile.pk}/", 302)]
    assert 'data-state="cancelled"' in response.content.decode()
    assert run_operations() == 0


@pytest.mark.parametrize("persona", ["distributor", "user", "stranger"])
def test_others_are_told_there_is_no_such_page(personas, reconcile, persona):
    client = signed_in_client(personas[persona])

    assert client.get(f"/ops/operations/{reconcile.pk}/").status_code == 404
    assert client.post(f"/ops/operations/{reconcile.pk}/cancel/").status_code == 404
    assert Operation.objects.get(pk=reconcile.pk).state == OperationState.QUEUED


def test_the_server_page_lists_its_recent_operations(ops, admin_user, reconcile, fake_engine):
    server = reconcile.server_id
    Server.objects.filter(pk=server).update(ssh_host_key=HOST_KEY)  # the page shows its fingerprint
    elsewhere = requests.reconcile(actor=admin_user, server=make_server(name="osaka-1"))

    page = ops.get(f"/ops/servers/{server}/").content.decode()

    assert 'id="server-operations"' in page
    assert f'data-operation-id="{reconcile.pk}"' in page and "Reconcile a server" in page
    assert admin_user.email in page
    assert f'data-operation-id="{elsewhere.pk}"' not in page
    assert f"/ops/operations/?server_id={server}" in page


def test_the_operations_list_filters_by_server(ops, admin_user, reconcile, fake_engine):
    elsewhere = requests.reconcile(actor=admin_user, server=make_server(name="osaka-1"))

    page = ops.get(f"/ops/operations/?server_id={reconcile.server_id}").content.decode()

    assert f'data-operation-id="{reconcile.pk}"' in page
    assert f'data-operation-id="{elsewhere.pk}"' not in page
    assert ops.get("/ops/operations/?state=lost").status_code == 400


# --- The customer's relays -------------------------------------------------------------------

def relays_fragment(user) -> str:
    response = signed_in_client(user).get("/relays/mine/", headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_the_customers_relay_list_shows_their_provisioning_under_way(customer, fake_engine,
                                                                     run_operations):
    give_rental(customer)
    make_server(name="seoul-1")
    operation = services.request_provisioning(user=customer, servers=1)

    body = relays_fragment(customer)

    assert f'data-operation-id="{operation.pk}"' in body
    assert "Set up a customer&#x27;s relays: Queued" in body
    assert 'hx-trigger="every 3s"' in body and "being set up" in body

    run_operations()

    body = relays_fragment(customer)
    assert "data-operation-id" not in body and "every 3s" not in body
    assert "seoul-1" in body and "Running" in body


def test_a_customer_never_sees_anyone_elses_work(customer, stranger, fake_engine):
    give_rental(stranger)
    services.request_provisioning(user=stranger, servers=1)
    relay(customer, make_server())

    body = relays_fragment(customer)

    assert "data-operation-id" not in body and "every 3s" not in body
    assert Operation.objects.filter(kind=OperationKind.PROVISION).count() == 1


def test_a_relay_s_admin_page_links_its_recent_tasks(superadmin, fake_engine):
    from tests.factories import UserFactory

    instance = relay(give_rental(UserFactory()), make_server(), engine=fake_engine)
    operation = requests.relay_action(OperationKind.STOP, actor=superadmin, instance=instance)

    page = signed_in_client(superadmin).get(f"/admin/containers/derpinstance/{instance.pk}/change/")

    assert page.status_code == 200
    assert f'href="/ops/operations/{operation.pk}/"' in page.content.decode()


def test_a_customer_s_admin_page_leads_to_their_tasks(superadmin, fake_engine):
    from apps.operations import services as operations
    from tests.factories import UserFactory

    customer, other = give_rental(UserFactory()), give_rental(UserFactory())
    operations.enqueue(OperationKind.PROVISION, customer=customer, args={"servers": 3})
    operations.enqueue(OperationKind.PROVISION, customer=other, args={"servers": 3})
    client = signed_in_client(superadmin)

    page = client.get(f"/admin/accounts/user/{customer.pk}/change/").content.decode()
    listed = client.get(f"/ops/operations/?customer_id={customer.pk}").content.decode()

    assert f'href="/ops/operations/?customer_id={customer.pk}"' in page
    assert "1 task under way" in page
    assert listed.count("data-operation-id=") == 1
