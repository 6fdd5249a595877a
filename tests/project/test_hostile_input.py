"""Hostile input gets a 400 in the envelope, never a 500: nesting, NUL bytes, wrong types."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from derpmgr.parsers import nesting_depth
from tests.conftest import signed_in_client, token_client

pytestmark = pytest.mark.django_db

DEEP = "[" * 20000 + "]" * 20000
PUBLIC_POSTS = ["/api/user/register", "/api/user/login", "/api/user/verify",
                "/api/user/resend_verification"]


def _api_post_routes():
    """Every concrete /api/ route (no path parameters), from the URL configuration itself."""

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and "<" not in route and route.startswith("api/"):
                yield "/" + route

    return sorted(set(walk(get_resolver().url_patterns, "")))


@pytest.mark.parametrize("path", PUBLIC_POSTS)
def test_deeply_nested_json_is_a_400_for_a_visitor(anon_api, path):
    response = anon_api.post(path, DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_no_api_route_answers_nested_json_or_a_bare_string_with_a_500(personas):
    client = token_client(personas["superadmin"])
    routes = _api_post_routes()
    assert len(routes) > 40  # the walk found the API

    for path in routes:
        for body in (DEEP, '"just a string"', "[1, 2]", "{\"a\": NaN}", "\xff\xfe"):
            response = client.post(path, body, content_type="application/json")
            assert response.status_code < 500, (path, body[:10], response.content[:200])


def test_a_body_over_the_size_limit_is_refused_without_being_decoded(anon_api, settings):
    settings.API_MAX_BODY_BYTES = 1000

    response = anon_api.post("/api/user/login", '{"email": "' + "a" * 2000 + '"}',
                             content_type="application/json")

    assert response.status_code == 400
    assert "1000" in response.json()["error"]["message"]


def test_nesting_is_measured_without_counting_brackets_inside_strings():
    assert nesting_depth(b'{"a": [1, {"b": "[[[[[[\\"]]"}]}') == 3
    assert nesting_depth(b"[]") == 1
    assert nesting_depth(b'"[[["') == 0


@pytest.mark.parametrize("path", ["/acl/feed/%00.json", "/api/orders/%00/mark",
                                  "/api/acl/devices/%00", "/api/operations/%00",
                                  "/accounts/verify/%00abcdefghijklmnopq/"])
def test_a_nul_byte_in_the_path_is_a_400(personas, path):
    client = token_client(personas["superadmin"])

    assert client.get(path).status_code == 400
    assert client.post(path, {}, format="json").status_code == 400


def test_a_nul_byte_in_the_query_is_a_400_on_pages_and_in_the_api(personas):
    api = token_client(personas["superadmin"])

    assert api.get("/api/logs/system?action=%00").status_code == 400
    assert api.get("/api/logs/system?action=%00").json()["error"]["code"] == "bad_request"
    assert signed_in_client(personas["superadmin"]).get(
        "/admin/accounts/user/?q=a%00b").status_code == 400


def test_a_tab_or_newline_in_a_search_is_still_a_search(personas):
    api = token_client(personas["superadmin"])

    assert api.get("/api/logs/system?action=a%0Ab").status_code == 200


@pytest.mark.parametrize("path", ["/acl/feed/short.json", "/acl/feed/has%20space-and-more-chars.json",
                                  "/api/orders/no%2Fslash/mark"])
def test_tokens_and_order_numbers_outside_their_alphabet_are_not_found(anon_api, path):
    assert anon_api.get(path).status_code == 404


def test_an_unknown_api_version_is_refused(personas):
    client = token_client(personas["user"])

    assert client.get("/api/user/me", HTTP_ACCEPT="application/json; version=1").status_code == 200
    response = client.get("/api/user/me", HTTP_ACCEPT="application/json; version=2")
    assert response.status_code == 406
    assert response.json()["success"] is False


@pytest.mark.parametrize("token", ["%00abcdefghijklmnopqrstuvwxyz", "a" * 129, "short",
                                   "has%20a%20space%20in%20the%20middle"])
def test_the_admission_check_refuses_junk_tokens_without_a_query(anon_api, token,
                                                                django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anon_api.post(f"/api/acl/admit/{token}",
                                 {"NodePublic": "nodekey:" + "a" * 64, "Source": "1.2.3.4"},
                                 format="json")

    assert response.status_code == 200
    assert response.json() == {"Allow": False}


@pytest.mark.parametrize("path", [
    # Offsets Python accepts and PostgreSQL does not (beyond ±15:59): compared in UTC instead.
    "/api/logs/system?until=0672-06-27T00%3A18%3A10%2B22%3A52",
    "/api/user/me/traffic?resolution=hour&to=2299-02-11T11%3A28%3A21.502260-16%3A01",
    "/api/monitoring/alerts?since=2026-01-01T00%3A00%3A00%2B23%3A59",
])
def test_times_with_extreme_offsets_are_compared_in_utc(personas, path):
    response = token_client(personas["superadmin"]).get(path)

    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("path", [
    "/api/logs/system?since=0001-01-01T00%3A00%3A00%2B05%3A00",
    "/api/user/me/traffic?from=0001-01-01T00%3A00%3A00%2B05%3A00",
    "/api/logs/system?until=9999-12-31T23%3A59%3A59-05%3A00",
])
def test_times_that_are_no_time_in_utc_are_a_400(personas, path):
    response = token_client(personas["superadmin"]).get(path)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "invalid"
