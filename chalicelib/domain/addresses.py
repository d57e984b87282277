"""Which client addresses share one per-address limit.

An IPv6 client is usually given a whole /64 (SLAAC; privacy addresses rotate inside
it), so limits keyed by the full address would give one attacker 2^64 fresh
budgets: IPv6 addresses are grouped by their /64 (the prefix RFC 4291 fixes for
interface identifiers). An IPv4 address is its own group, as before; an IPv4-mapped
IPv6 address (``::ffff:192.0.2.1``) counts as the IPv4 address it carries. Text that
is no address (``unknown`` outside API Gateway) is a group of its own.
"""

from __future__ import annotations

import ipaddress

#: Length of the IPv6 prefix one client is assumed to control.
IPV6_CLIENT_PREFIX = 64
_HOST_BITS = 128 - IPV6_CLIENT_PREFIX


def address_group(client_ip: str) -> str:
    """The limit group of a client address: itself for IPv4, its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    # Through the integer, so a zone id (``fe80::1%eth0``) drops out with the host bits.
    network = ipaddress.IPv6Address(int(address) >> _HOST_BITS << _HOST_BITS)
    return f"{network}/{IPV6_CLIENT_PREFIX}"
