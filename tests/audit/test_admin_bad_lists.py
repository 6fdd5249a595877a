"""Admin lists with impossible dates or filter values answer 400 (with a way back), never 500:
every ModelAdmin with a date_hierarchy, on SQLite and on PostgreSQL."""

import pytest
from django.contrib import admin

from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def _lists_with_dates() -> list[tuple[str, str]]:
    return sorted((f"/admin/{model._meta.app_label}/{model._meta.model_name}/",
                   model_admin.date_hierarchy)
                  for model, model_admin in admin.site._registry.items()
                  if model_admin.date_hierarchy)


LISTS_WITH_DATES = _lists_with_dates()

IMPOSSIBLE_DATES = {
    "a huge year": {"year": "99999999"},
    "a year of 5000 digits": {"year": "9" * 5000},
    "the last year (its next year does not exist)": {"year": "9999"},
    "the last month": {"year": "9999", "month": "12"},
    "the last day": {"year": "9999", "month": "12", "day": "31"},
    "the year 0": {"year": "0"},
    "a thirteenth month": {"year": "2024", "month": "13"},
    "the 30th of February": {"year": "2024", "month": "2", "day": "30"},
    "letters": {"year": "twenty"},
    "a negative year": {"year": "-5"},
}


def test_every_list_with_a_date_hierarchy_is_covered():
    assert len(LISTS_WITH_DATES) >= 8  # orders, codes, alerts, e-mails, audit, relays, acl…


@pytest.fixture
def client(superadmin):
    return signed_in_client(superadmin)


@pytest.mark.parametrize(("url", "field"), LISTS_WITH_DATES)
def test_an_ordinary_date_drill_down_works(client, url, field):
    response = client.get(url, {f"{field}__year": "2026", f"{field}__month": "11"})

    assert response.status_code == 200


@pytest.mark.parametrize("case", IMPOSSIBLE_DATES)
@pytest.mark.parametrize(("url", "field"), LISTS_WITH_DATES)
def test_an_impossible_date_answers_400_with_a_link_to_the_list(client, url, field, case):
    params = {f"{field}__{part}": value for part, value in IMPOSSIBLE_DATES[case].items()}

    response = client.get(url, params)

    assert response.status_code == 400, (url, case)
    assert f'href="{url}"' in response.content.decode()


@pytest.mark.parametrize(("params", "status"), [
    ({"plan__id__exact": "99999999999999999999"}, 200),  # beyond any integer column: nothing
    ({"plan__id__exact": "x"}, 400),
    ({"status__exact": "no-such-status"}, 200),  # a choice nobody has: an empty list
    ({"created_at__gte": "not a date"}, 400),
])
def test_bad_filter_values_answer_an_empty_list_or_400(client, params, status):
    response = client.get("/admin/distribution/activationcode/", params)

    assert response.status_code == status, params
    assert client.get("/admin/distribution/activationcode/").status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("case", ["a huge year", "the last year (its next year does not exist)",
                                  "the year 0"])
def test_impossible_dates_on_postgresql(client, case):
    params = {f"created_at__{part}": value for part, value in IMPOSSIBLE_DATES[case].items()}

    assert client.get("/admin/audit/auditevent/", params).status_code == 400
    assert client.get("/admin/audit/auditevent/").status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("params", [{"plan__id__exact": "99999999999999999999"},
                                    {"created_at__year": "9999", "created_at__month": "12"}])
def test_out_of_range_values_on_postgresql(client, params):
    response = client.get("/admin/distribution/activationcode/", params)

    assert response.status_code in (200, 400)  # an empty list or a refusal, never 500
    assert client.get("/admin/distribution/activationcode/").status_code == 200
