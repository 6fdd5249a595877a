"""derpmgr.net.client_ip: whom a request comes from, trusting only our own proxies."""

import pytest
from django.test import RequestFactory

from derpmgr.net import client_ip


def _request(forwarded: str | None = None, remote: str = "10.0.0.2"):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_proxies_it_is_remote_addr_whatever_the_header_says(settings):
    settings.NUM_PROXIES = 0
    assert client_ip(_request("198.51.100.7")) == "10.0.0.2"


def test_behind_one_proxy_it_is_the_last_forwarded_hop(settings):
    settings.NUM_PROXIES = 1
    assert client_ip(_request("203.0.113.9, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request("2001:db8::1")) == "2001:db8::1"


def test_behind_two_proxies_it_is_the_hop_the_outer_proxy_saw(settings):
    settings.NUM_PROXIES = 2
    assert client_ip(_request("1.1.1.1, 203.0.113.9, 198.51.100.7")) == "203.0.113.9"


@pytest.mark.parametrize("forwarded", ["", "not-an-ip", "198.51.100.7:443", "<script>", " , ",
                                       "999.1.1.1"])
def test_garbage_in_the_header_falls_back_to_remote_addr(settings, forwarded):
    settings.NUM_PROXIES = 1
    assert client_ip(_request(forwarded)) == "10.0.0.2"


def test_fewer_hops_than_proxies_falls_back_to_remote_addr(settings):
    settings.NUM_PROXIES = 2
    assert client_ip(_request("198.51.100.7")) == "10.0.0.2"
