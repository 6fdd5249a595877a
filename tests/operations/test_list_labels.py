"""The lists name kinds and states in the caller's language (one label translated per value
shown, not every label of the field per row)."""

import pytest
from django.utils import translation

from apps.operations.models import Operation, OperationKind, OperationState
from tests.conftest import token_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_operations_list_labels_kind_and_state_in_the_callers_language(admin_user, language):
    Operation.objects.create(kind=OperationKind.PROVISION, state=OperationState.FAILED)
    client = token_client(admin_user)

    row = client.get("/api/operations", headers={"accept-language": language}).json()["results"][0]

    with translation.override(language):
        assert row["kind_display"] == str(OperationKind.PROVISION.label)
        assert row["state_display"] == str(OperationState.FAILED.label)
    if language == "zh-hans":
        assert row["kind_display"] != "Set up a customer's relays"
