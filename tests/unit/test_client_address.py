"""The client's address behind proxies: only a trusted proxy's X-Forwarded-For counts."""

from __future__ import annotations

import pytest

from server.web.limits import forwarded_client, trusted_networks

NGINX = trusted_networks(["10.0.0.5"])
TWO_TIERS = trusted_networks(["10.0.0.0/24", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        # no trusted proxy configured: the peer, whatever the header says
        ("198.51.100.1", ["1.2.3.4"], (), "198.51.100.1"),
        # a peer that is not a trusted proxy: its header is its own invention
        ("198.51.100.1", ["1.2.3.4"], NGINX, "198.51.100.1"),
        # the proxy's word: the address it was reached from
        ("10.0.0.5", ["203.0.113.7"], NGINX, "203.0.113.7"),
        # what the client put in front is not believed: the right-most untrusted hop
        ("10.0.0.5", ["6.6.6.6, 203.0.113.7"], NGINX, "203.0.113.7"),
        ("10.0.0.5", ["6.6.6.6", "203.0.113.7"], NGINX, "203.0.113.7"),
        # proxies behind proxies, given as a range: skipped from the right
        ("10.0.0.9", ["203.0.113.7, 10.0.0.3, 10.0.0.4"], TWO_TIERS, "203.0.113.7"),
        ("fd00::2", ["2001:db8::1, fd00::1"], TWO_TIERS, "2001:db8::1"),
        # a trusted proxy without a header: the proxy itself
        ("10.0.0.5", [], NGINX, "10.0.0.5"),
        # a hop that is not an address ends the walk at the last trusted proxy
        ("10.0.0.9", ["203.0.113.7, junk, 10.0.0.3"], TWO_TIERS, "10.0.0.3"),
        ("10.0.0.5", ["x" * 500], NGINX, "10.0.0.5"),
        # written forms: brackets, IPv4 mapped into IPv6
        ("10.0.0.5", ["[2001:db8::1]"], NGINX, "2001:db8::1"),
        ("::ffff:10.0.0.5", ["203.0.113.7"], NGINX, "203.0.113.7"),
        # every hop trusted: the left-most
        ("10.0.0.9", ["10.0.0.1, 10.0.0.2"], TWO_TIERS, "10.0.0.1"),
    ],
)
def test_the_client_is_the_right_most_hop_no_trusted_proxy_wrote(peer, forwarded, proxies, client):
    assert forwarded_client(peer, forwarded, proxies) == client


def test_a_trusted_proxy_entry_must_be_an_address_or_a_range():
    with pytest.raises(ValueError, match="nope"):
        trusted_networks(["10.0.0.1", "nope"])
