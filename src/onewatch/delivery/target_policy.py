"""Where Onewatch may send a request: the outbound target policy.

Clients hand Onewatch URLs, and Onewatch calls them from inside the operator's network,
so a URL must never become a way to reach the cloud metadata service or other
link-local, multicast or reserved addresses. Two checks share one set of rules:

* ``TargetPolicy.check_endpoint(url)`` at the API, when an action or event is created or
  changed. It looks at the URL only and does **not** resolve names: an answer at create
  time proves nothing about the answer at fire time (DNS can rebind), a lookup would let
  a tenant probe the operator's internal DNS through the API, and it would make the API
  slow and flaky when a target's DNS is. It rejects what is knowable from the text: the
  scheme, IP literals in every spelling (``2852039166``, ``0251.0376.0251.0376``,
  ``[::ffff:169.254.169.254]``), ``localhost.``, known metadata names and the
  operator's host lists.
* ``policy_connector(policy)`` for the dispatcher: an aiohttp connector whose resolver
  resolves each name once and checks every address it got, and whose socket factory
  checks the exact address each socket connects to (which also covers IP literals, that
  aiohttp does not send through the resolver). aiohttp then connects to that checked IP
  while the Host header and TLS SNI keep the name, so a name that rebinds between the
  API's check and the connection cannot slip through.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from onewatch.delivery.address_ranges import (
    NEVER_ALLOWED,
    AddressKind,
    IPAddress,
    IPNetwork,
    address_kind,
    unwrap,
)
from onewatch.delivery.aws_policy import AwsTargetPolicy
from onewatch.errors import ConfigurationError, ValidationFailed
from onewatch.settings import Settings

ALLOWED_SCHEMES = frozenset({"http", "https"})
#: An endpoint template's placeholder, replaced by a neutral word before parsing.
PLACEHOLDER_TEXT = re.compile(r"<[^<>/]*>|\{[^{}/]*\}")

#: Names that only ever mean the cloud metadata service.
METADATA_HOST_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)


class DestinationDenied(aiohttp.ClientConnectionError):
    """The policy refuses this destination; ``rule`` names the rule that refused it.

    A ``ClientConnectionError``, so a dispatcher that records aiohttp errors as the
    attempt's error records this one too; its message says which rule and which address.
    """

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"destination denied by the outbound policy ({rule}): {detail}")
        self.rule = rule
        self.detail = detail


def _networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ip_network(value, strict=False) for value in values)


def _host_names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(normalise_host(value) for value in values)


def normalise_host(host: str) -> str:
    """Lower case, without the trailing dot of a fully qualified name."""
    return host.strip().lower().rstrip(".")


def _host_matches(host: str, patterns: Sequence[str]) -> bool:
    """``example.com`` matches itself; ``*.example.com`` matches any name under it."""
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


#: Accepted URLs a policy remembers before it starts over.
MAX_REMEMBERED_URLS = 4096


@dataclass(frozen=True)
class TargetPolicy:
    """The rules. Order: deny lists, then allow lists, then the per-kind defaults.

    Unspecified, multicast, broadcast and reserved addresses are never allowed. An
    address in ``allowed_networks`` (or a name in ``allowed_hosts``) is allowed even
    where its kind is denied by default, e.g. a link-local appliance the operator trusts.
    """

    allow_loopback: bool = True
    allow_private: bool = True
    allow_public: bool = True
    allow_link_local: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    denied_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    denied_hosts: tuple[str, ...] = ()
    #: The Lambda functions and SQS queues each service may call (none by default).
    aws: AwsTargetPolicy = field(default_factory=AwsTargetPolicy)
    _by_kind: dict[AddressKind, bool] = field(init=False, repr=False, compare=False)
    #: URLs this (immutable) policy accepted: most events of a service share a few
    #: endpoints, and parsing and classifying one is most of a create's policy cost.
    _accepted: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kind = {
            AddressKind.LOOPBACK: self.allow_loopback,
            AddressKind.PRIVATE: self.allow_private,
            AddressKind.PUBLIC: self.allow_public,
            AddressKind.LINK_LOCAL: self.allow_link_local,
        }
        object.__setattr__(self, "_by_kind", by_kind)

    @classmethod
    def build(
        cls,
        *,
        allowed_networks: Iterable[str] = (),
        denied_networks: Iterable[str] = (),
        allowed_hosts: Iterable[str] = (),
        denied_hosts: Iterable[str] = (),
        aws: AwsTargetPolicy | None = None,
        **kinds: bool,
    ) -> TargetPolicy:
        """A policy from plain strings (raises ``ValueError`` on a bad network)."""
        return cls(
            allowed_networks=_networks(allowed_networks),
            denied_networks=_networks(denied_networks),
            allowed_hosts=_host_names(allowed_hosts),
            denied_hosts=_host_names(denied_hosts),
            aws=aws or AwsTargetPolicy(),
            **kinds,
        )

    # -- names -------------------------------------------------------------------

    def check_host_name(self, host: str) -> None:
        """The rules that look at a name only (deny list, allow list, metadata names)."""
        name = normalise_host(host)
        if _host_matches(name, self.denied_hosts):
            raise DestinationDenied("denied host", f"{name} is in outbound_denied_hosts")
        if _host_matches(name, self.allowed_hosts):
            return
        if name in METADATA_HOST_NAMES and not self.allow_link_local:
            raise DestinationDenied("link-local", f"{name} is a cloud metadata name")
        if (name == "localhost" or name.endswith(".localhost")) and not self.allow_loopback:
            raise DestinationDenied("loopback", f"{name} always means this machine")

    # -- addresses ---------------------------------------------------------------

    def check_address(self, address: IPAddress, host: str | None = None) -> None:
        """Refuse ``address`` (reached for ``host``) unless the rules allow it."""
        reached = unwrap(address)
        shown = str(address) if reached == address else f"{address} (= {reached})"
        for network in self.denied_networks:
            if address in network or reached in network:
                raise DestinationDenied("denied network", f"{shown} is in {network}")
        kind = address_kind(address)
        if kind in NEVER_ALLOWED:
            raise DestinationDenied(kind.value, f"{shown} is a {kind.value} address")
        if self._explicitly_allowed(address, reached, host):
            return
        if not self._by_kind[kind]:
            raise DestinationDenied(kind.value, f"{shown} is a {kind.value} address")

    def _explicitly_allowed(self, address: IPAddress, reached: IPAddress, host: str | None) -> bool:
        if host is not None and _host_matches(normalise_host(host), self.allowed_hosts):
            return True
        return any(address in network or reached in network for network in self.allowed_networks)

    # -- the API's static check --------------------------------------------------

    def check_endpoint(self, url: str, *, field: str = "endpoint") -> None:
        """Reject, at the API, an endpoint the policy would refuse at fire time.

        Raises ``ValidationFailed`` naming ``field`` and the rule. Placeholders
        (``<id>``, ``{id}``) in the path or query do not matter here; a URL whose host or
        port is a placeholder can only be checked for its scheme: check it again once
        filled (an event's ``params.url``), and the dispatcher's connector checks the
        address it really connects to.
        """
        if url in self._accepted:
            return
        try:
            self._check_url(url)
        except DestinationDenied as exc:
            raise ValidationFailed(str(exc), field=field) from exc
        if len(self._accepted) >= MAX_REMEMBERED_URLS:
            self._accepted.clear()
        self._accepted.add(url)

    def _check_url(self, url: str) -> None:
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in ALLOWED_SCHEMES or not rest:
            raise DestinationDenied("scheme", f"only http:// and https:// URLs, not {url!r}")
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "{" in authority or "<" in authority:
            return
        try:
            host = URL(PLACEHOLDER_TEXT.sub("x", url)).raw_host
        except ValueError as exc:
            raise DestinationDenied("malformed URL", str(exc)) from exc
        if not host:
            raise DestinationDenied("malformed URL", f"{url!r} has no host")
        self.check_literal_or_name(host)

    def check_literal_or_name(self, host: str) -> None:
        """A host as written in a URL: an IP literal in any spelling, or a name."""
        self.check_host_name(host)
        literal = parse_ip_literal(host)
        if literal is not None:
            self.check_address(literal, host)
            return
        legacy = parse_legacy_ipv4(host)
        if legacy is not None:
            self.check_address(legacy, host)
            raise DestinationDenied(
                "non-canonical IPv4", f"{host!r} means {legacy}; write it as {legacy}"
            )

    # -- the dispatcher's connection-time check -----------------------------------

    def check_resolved(self, host: str, results: Sequence[ResolveResult]) -> None:
        """Every address a name resolved to must pass: one bad answer refuses the name."""
        self.check_host_name(host)
        for result in results:
            self.check_address(ip_address(result["host"]), host)

    def check_socket_address(self, addr_info: AddrInfoType) -> None:
        """The exact address a socket is about to connect to."""
        sockaddr = addr_info[4]
        self.check_address(ip_address(str(sockaddr[0]).split("%", 1)[0]))


def parse_ip_literal(host: str) -> IPAddress | None:
    """``host`` as a standard IPv4 dotted quad or IPv6 literal, else ``None``."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


def _legacy_part(text: str) -> int | None:
    try:
        if text.lower().startswith("0x"):
            return int(text[2:], 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def parse_legacy_ipv4(host: str) -> IPAddress | None:
    """What ``inet_aton`` would make of ``host``: ``2852039166``, ``0xa9.254.0251.0376``.

    These spellings still reach an address through some resolvers and libraries, so the
    API decodes them to judge the address they mean, then asks for the canonical form.
    """
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_legacy_part(part) for part in parts]
    if any(value is None for value in values):
        return None
    numbers = [value for value in values if value is not None]
    *leading, last = numbers
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    total = 0
    for value in leading:
        total = total * 256 + value
    total = total * 256 ** (5 - len(numbers)) + last
    return ip_address(total)


def policy_from_settings(settings: Settings) -> TargetPolicy:
    """The policy the operator configured (``ONEWATCH_OUTBOUND_*``)."""
    try:
        return _build_from_settings(settings)
    except ValueError as exc:
        raise ConfigurationError(f"bad network: {exc}", field="outbound_networks") from exc


def _build_from_settings(settings: Settings) -> TargetPolicy:
    return TargetPolicy.build(
        allow_loopback=settings.outbound_allow_loopback,
        allow_private=settings.outbound_allow_private,
        allow_public=settings.outbound_allow_public,
        allow_link_local=settings.outbound_allow_link_local,
        allowed_networks=settings.outbound_allowed_networks,
        denied_networks=settings.outbound_denied_networks,
        allowed_hosts=settings.outbound_allowed_hosts,
        denied_hosts=settings.outbound_denied_hosts,
        aws=AwsTargetPolicy.build(
            {service: grant.model_dump() for service, grant in settings.aws_targets.items()}
        ),
    )


class PolicyResolver(AbstractResolver):
    """Resolves through ``inner`` once, then checks every address before handing it on.

    aiohttp connects to the ``host`` of each result and keeps ``hostname`` for the Host
    header and TLS SNI, so the checked address is the one connected to.
    """

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self._policy.check_host_name(host)
        results = await self._inner.resolve(host, port, family)
        self._policy.check_resolved(host, results)
        return [{**result, "hostname": host} for result in results]

    async def close(self) -> None:
        await self._inner.close()


class _GuardedSocketFactory:
    """Checks the address of every socket before it is created (IP literals included)."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy

    def __call__(self, addr_info: AddrInfoType) -> socket.socket:
        self._policy.check_socket_address(addr_info)
        family, type_, proto, _, _ = addr_info
        return socket.socket(family=family, type=type_, proto=proto)


def policy_connector(
    policy: TargetPolicy, *, resolver: AbstractResolver | None = None, **options: Any
) -> aiohttp.TCPConnector:
    """The dispatcher's connector: every connection goes to an address the policy allows.

    ``options`` go to ``aiohttp.TCPConnector`` (``limit``, ``limit_per_host``, ``ssl``).
    Use it with ``trust_env=False`` (an environment proxy would be connected to instead
    of the target) and ``allow_redirects=False``. Must be called inside a running loop.
    """
    return aiohttp.TCPConnector(
        resolver=PolicyResolver(policy, resolver),
        socket_factory=_GuardedSocketFactory(policy),
        **options,
    )


__all__ = [
    "DestinationDenied",
    "PolicyResolver",
    "TargetPolicy",
    "parse_legacy_ipv4",
    "policy_connector",
    "policy_from_settings",
]
