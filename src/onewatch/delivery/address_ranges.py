"""Which kind of destination an IP address is, from explicit tables.

The tables are written out here instead of asking ``ipaddress``'s ``is_private`` and
friends: Python 3.11.7 ships wrong private-range tables (CVE-2024-4032), and the policy
needs its own categories anyway. IPv6 forms that carry an IPv4 address (IPv4-mapped,
IPv4-compatible, IPv4-translated, NAT64, 6to4) take the category of the address they
carry, so ``::ffff:169.254.169.254`` is as link-local as ``169.254.169.254``.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


class AddressKind(StrEnum):
    """A destination category; the policy allows or denies each one."""

    UNSPECIFIED = "unspecified"
    MULTICAST = "multicast"
    BROADCAST = "broadcast"
    RESERVED = "reserved"
    LINK_LOCAL = "link-local"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    PUBLIC = "public"


#: Never a destination, whatever the operator's lists say.
NEVER_ALLOWED = frozenset(
    {AddressKind.UNSPECIFIED, AddressKind.MULTICAST, AddressKind.BROADCAST, AddressKind.RESERVED}
)


def _table(*rows: tuple[str, AddressKind]) -> tuple[tuple[IPNetwork, AddressKind], ...]:
    return tuple((ip_network(network), kind) for network, kind in rows)


# Most specific first: the first row that contains the address decides.
_IPV4 = _table(
    ("255.255.255.255/32", AddressKind.BROADCAST),
    ("0.0.0.0/8", AddressKind.UNSPECIFIED),  # "this network"; 0.0.0.0 reaches localhost
    ("127.0.0.0/8", AddressKind.LOOPBACK),
    ("169.254.0.0/16", AddressKind.LINK_LOCAL),  # cloud metadata: 169.254.169.254
    ("224.0.0.0/4", AddressKind.MULTICAST),
    ("240.0.0.0/4", AddressKind.RESERVED),
    ("192.0.2.0/24", AddressKind.RESERVED),  # TEST-NET-1
    ("198.51.100.0/24", AddressKind.RESERVED),  # TEST-NET-2
    ("203.0.113.0/24", AddressKind.RESERVED),  # TEST-NET-3
    ("192.88.99.0/24", AddressKind.RESERVED),  # deprecated 6to4 relay anycast
    ("10.0.0.0/8", AddressKind.PRIVATE),
    ("172.16.0.0/12", AddressKind.PRIVATE),
    ("192.168.0.0/16", AddressKind.PRIVATE),
    ("100.64.0.0/10", AddressKind.PRIVATE),  # carrier-grade NAT, shared space
    ("192.0.0.0/24", AddressKind.PRIVATE),  # IETF protocol assignments (DS-Lite, NAT64 ...)
    ("198.18.0.0/15", AddressKind.PRIVATE),  # benchmarking, internal by definition
)

_IPV6 = _table(
    ("::/128", AddressKind.UNSPECIFIED),
    ("::1/128", AddressKind.LOOPBACK),
    ("ff00::/8", AddressKind.MULTICAST),
    ("fe80::/10", AddressKind.LINK_LOCAL),
    ("fec0::/10", AddressKind.PRIVATE),  # deprecated site-local
    ("fc00::/7", AddressKind.PRIVATE),  # unique local
    ("2001:db8::/32", AddressKind.RESERVED),  # documentation
    ("2001::/32", AddressKind.RESERVED),  # Teredo tunnels: never a scheduler's target
    ("100::/64", AddressKind.RESERVED),  # discard-only
    ("::/8", AddressKind.RESERVED),  # what is left of the old IPv4-compatible space
)

_V4_MAPPED = IPv6Network("::ffff:0:0/96")
_V4_TRANSLATED = IPv6Network("::ffff:0:0:0/96")
_V4_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = IPv6Network("2002::/16")


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 form carries and may be routed to, if any."""
    value = int(address)
    if address in (IPv6Address("::"), IPv6Address("::1")):
        return None
    for network in (_V4_MAPPED, _V4_TRANSLATED, _V4_COMPATIBLE, _NAT64, _NAT64_LOCAL):
        if address in network:
            return IPv4Address(value & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return IPv4Address((value >> 80) & 0xFFFFFFFF)
    return None


def unwrap(address: IPAddress) -> IPAddress:
    """The address a connection really reaches: the carried IPv4 one, or itself."""
    if isinstance(address, IPv6Address):
        if address.scope_id:
            address = IPv6Address(address.compressed.split("%", 1)[0])
        inner = embedded_ipv4(address)
        if inner is not None:
            return inner
    return address


def address_kind(address: IPAddress) -> AddressKind:
    """The category of ``address`` (after unwrapping any carried IPv4 address)."""
    target = unwrap(address)
    table = _IPV4 if isinstance(target, IPv4Address) else _IPV6
    for network, kind in table:
        if target in network:
            return kind
    return AddressKind.PUBLIC
