"""Per-address limits: IPv6 clients grouped by their /64, IPv4 unchanged."""

from __future__ import annotations

import pytest

from chalicelib.domain.addresses import address_group


def test_ipv4_addresses_stay_one_group_each() -> None:
    assert address_group("192.0.2.1") == "192.0.2.1"
    assert address_group("192.0.2.1") != address_group("192.0.2.2")


@pytest.mark.parametrize(
    "other",
    [
        "2001:db8:1:2::1",
        "2001:db8:1:2:ffff:ffff:ffff:ffff",
        "2001:0DB8:0001:0002:0000:0000:0000:0042",
        "2001:db8:1:2:a1b2:c3d4:e5f6:789",
    ],
)
def test_every_address_of_one_ipv6_slash_64_is_one_group(other: str) -> None:
    assert address_group(other) == address_group("2001:db8:1:2::") == "2001:db8:1:2::/64"


def test_neighbouring_ipv6_prefixes_are_different_groups() -> None:
    assert address_group("2001:db8:1:2::1") != address_group("2001:db8:1:3::1")


def test_ipv4_mapped_ipv6_counts_as_its_ipv4_address() -> None:
    assert address_group("::ffff:192.0.2.1") == "192.0.2.1"


def test_a_zone_id_does_not_escape_the_group() -> None:
    assert address_group("fe80::1%eth0") == address_group("fe80::2") == "fe80::/64"


@pytest.mark.parametrize("text", ["unknown", "", "not an address", "1.2.3.4.5"])
def test_text_that_is_no_address_is_its_own_group(text: str) -> None:
    assert address_group(text) == text
