"""The outbound target policy: edge addresses, URL spellings, and real connections."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from onewatch.delivery.address_ranges import AddressKind, address_kind
from onewatch.delivery.target_policy import (
    DestinationDenied,
    TargetPolicy,
    parse_legacy_ipv4,
    policy_connector,
    policy_from_settings,
)
from onewatch.errors import ConfigurationError, ValidationFailed
from onewatch.settings import Settings

K = AddressKind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        # IPv4 edges: first and last address of each range, and their neighbours.
        ("169.254.169.254", K.LINK_LOCAL),
        ("169.254.0.0", K.LINK_LOCAL),
        ("169.254.255.255", K.LINK_LOCAL),
        ("169.253.255.255", K.PUBLIC),
        ("169.255.0.0", K.PUBLIC),
        ("127.0.0.1", K.LOOPBACK),
        ("127.255.255.255", K.LOOPBACK),
        ("128.0.0.0", K.PUBLIC),
        ("0.0.0.0", K.UNSPECIFIED),
        ("0.255.255.255", K.UNSPECIFIED),
        ("1.0.0.0", K.PUBLIC),
        ("9.255.255.255", K.PUBLIC),
        ("10.0.0.0", K.PRIVATE),
        ("10.255.255.255", K.PRIVATE),
        ("11.0.0.0", K.PUBLIC),
        ("172.15.255.255", K.PUBLIC),
        ("172.16.0.0", K.PRIVATE),
        ("172.31.255.255", K.PRIVATE),
        ("172.32.0.0", K.PUBLIC),
        ("192.167.255.255", K.PUBLIC),
        ("192.168.0.0", K.PRIVATE),
        ("192.168.255.255", K.PRIVATE),
        ("192.169.0.0", K.PUBLIC),
        ("100.63.255.255", K.PUBLIC),
        ("100.64.0.0", K.PRIVATE),
        ("100.127.255.255", K.PRIVATE),
        ("100.128.0.0", K.PUBLIC),
        ("192.0.0.0", K.PRIVATE),
        ("192.0.0.170", K.PRIVATE),
        ("192.0.0.255", K.PRIVATE),
        ("192.0.1.0", K.PUBLIC),
        ("192.0.2.1", K.RESERVED),
        ("198.51.100.7", K.RESERVED),
        ("203.0.113.9", K.RESERVED),
        ("198.17.255.255", K.PUBLIC),
        ("198.18.0.0", K.PRIVATE),
        ("198.19.255.255", K.PRIVATE),
        ("198.20.0.0", K.PUBLIC),
        ("223.255.255.255", K.PUBLIC),
        ("224.0.0.0", K.MULTICAST),
        ("239.255.255.255", K.MULTICAST),
        ("240.0.0.0", K.RESERVED),
        ("255.255.255.254", K.RESERVED),
        ("255.255.255.255", K.BROADCAST),
        ("8.8.8.8", K.PUBLIC),
        # IPv6.
        ("::", K.UNSPECIFIED),
        ("::1", K.LOOPBACK),
        ("fe80::", K.LINK_LOCAL),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", K.LINK_LOCAL),
        ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", K.PUBLIC),
        ("fec0::1", K.PRIVATE),
        ("fc00::", K.PRIVATE),
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", K.PRIVATE),
        ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", K.PUBLIC),
        ("ff02::1", K.MULTICAST),
        ("2001:db8::1", K.RESERVED),
        ("2001::1", K.RESERVED),
        ("2606:4700:4700::1111", K.PUBLIC),
        # IPv6 forms that carry an IPv4 address take its kind.
        ("::ffff:169.254.169.254", K.LINK_LOCAL),
        ("::ffff:127.0.0.1", K.LOOPBACK),
        ("::ffff:10.0.0.1", K.PRIVATE),
        ("::ffff:8.8.8.8", K.PUBLIC),
        ("::ffff:0.0.0.0", K.UNSPECIFIED),
        ("::169.254.169.254", K.LINK_LOCAL),
        ("::ffff:0:169.254.169.254", K.LINK_LOCAL),
        ("64:ff9b::169.254.169.254", K.LINK_LOCAL),
        ("64:ff9b::8.8.8.8", K.PUBLIC),
        ("64:ff9b:1::a9fe:a9fe", K.LINK_LOCAL),
        ("2002:a9fe:a9fe::1", K.LINK_LOCAL),
        ("2002:7f00:1::", K.LOOPBACK),
        ("2002:0808:0808::1", K.PUBLIC),
        ("fe80::1%eth0", K.LINK_LOCAL),
    ],
)
def test_address_kinds_at_the_edges(address: str, kind: AddressKind) -> None:
    assert address_kind(ip_address(address)) == kind


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2852039166", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0xA9.0xFE.0xA9.0xFE", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("169.16689662", "169.254.169.254"),
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.1.1.1", None),
        ("4294967296", None),
    ],
)
def test_legacy_ipv4_spellings_are_decoded(host: str, expected: str | None) -> None:
    decoded = parse_legacy_ipv4(host)
    assert (str(decoded) if decoded is not None else None) == expected


DEFAULT = TargetPolicy()
NO_LOOPBACK = TargetPolicy(allow_loopback=False)
NO_PRIVATE = TargetPolicy(allow_private=False)


@pytest.mark.parametrize(
    ("policy", "url", "rule"),
    [
        (DEFAULT, "ftp://example.com/", "scheme"),
        (DEFAULT, "file:///etc/passwd", "scheme"),
        (DEFAULT, "gopher://example.com:70/", "scheme"),
        (DEFAULT, "javascript:alert(1)", "scheme"),
        (DEFAULT, "example.com/hook", "scheme"),
        (DEFAULT, "http:///path", "malformed URL"),
        (DEFAULT, "http://169.254.169.254/latest/meta-data/", "link-local"),
        (DEFAULT, "http://2852039166/", "link-local"),
        (DEFAULT, "http://0251.0376.0251.0376/", "link-local"),
        (DEFAULT, "http://0xa9fea9fe/", "link-local"),
        (DEFAULT, "http://169.254.43518/", "link-local"),
        (DEFAULT, "http://[::ffff:169.254.169.254]/", "link-local"),
        (DEFAULT, "http://[::ffff:a9fe:a9fe]:8080/", "link-local"),
        (DEFAULT, "http://[64:ff9b::a9fe:a9fe]/", "link-local"),
        (DEFAULT, "http://[2002:a9fe:a9fe::]/", "link-local"),
        (DEFAULT, "http://[fe80::1%25eth0]/", "link-local"),
        (DEFAULT, "http://metadata.google.internal/computeMetadata/v1/", "link-local"),
        (DEFAULT, "http://METADATA.google.internal./", "link-local"),
        (DEFAULT, "http://0.0.0.0:8080/", "unspecified"),
        (DEFAULT, "http://[::]/", "unspecified"),
        (DEFAULT, "http://255.255.255.255/", "broadcast"),
        (DEFAULT, "http://224.0.0.251/", "multicast"),
        (DEFAULT, "http://[ff02::1]/", "multicast"),
        (DEFAULT, "http://240.0.0.1/", "reserved"),
        (DEFAULT, "http://2130706433/", "non-canonical IPv4"),
        (DEFAULT, "http://127.1/", "non-canonical IPv4"),
        (DEFAULT, "http://127.0.0.1:8080/hook", None),
        (DEFAULT, "http://localhost./hook", None),
        (DEFAULT, "http://[::1]:8080/", None),
        (DEFAULT, "http://10.1.2.3/", None),
        (DEFAULT, "https://api.example.com/hook?x=1", None),
        (DEFAULT, "HTTPS://API.EXAMPLE.COM/", None),
        (DEFAULT, "https://{{params.host}}/hook", None),
        (NO_LOOPBACK, "http://localhost./", "loopback"),
        (NO_LOOPBACK, "http://LOCALHOST:9000/", "loopback"),
        (NO_LOOPBACK, "http://api.localhost/", "loopback"),
        (NO_LOOPBACK, "http://127.0.0.1/", "loopback"),
        (NO_LOOPBACK, "http://[::1]/", "loopback"),
        (NO_LOOPBACK, "http://[::ffff:127.0.0.1]/", "loopback"),
        (NO_LOOPBACK, "http://2130706433/", "loopback"),
        (NO_LOOPBACK, "http://10.0.0.1/", None),
        (NO_PRIVATE, "http://10.0.0.1/", "private"),
        (NO_PRIVATE, "http://192.168.1.10/", "private"),
        (NO_PRIVATE, "http://[fd00::1]/", "private"),
        (NO_PRIVATE, "http://100.64.0.1/", "private"),
        (NO_PRIVATE, "http://127.0.0.1/", None),
    ],
)
def test_check_endpoint_matrix(policy: TargetPolicy, url: str, rule: str | None) -> None:
    if rule is None:
        policy.check_endpoint(url)
        return
    with pytest.raises(ValidationFailed) as caught:
        policy.check_endpoint(url, field="target.endpoint")
    assert caught.value.field == "target.endpoint"
    assert f"({rule})" in caught.value.reason
    assert isinstance(caught.value.__cause__, DestinationDenied)
    assert caught.value.__cause__.rule == rule


def test_operator_lists() -> None:
    policy = TargetPolicy.build(
        allow_public=False,
        denied_networks=["10.9.0.0/16", "fd00:9::/32"],
        allowed_networks=["169.254.10.0/24", "0.0.0.0/8", "8.8.8.0/24"],
        denied_hosts=["*.internal.example", "Blocked.Example."],
        allowed_hosts=["api.partner.example"],
    )
    policy.check_endpoint("http://169.254.10.5/")  # an allowed link-local appliance
    policy.check_endpoint("http://8.8.8.8/")  # public denied, but this network allowed
    policy.check_endpoint("http://api.partner.example/")
    policy.check_endpoint("http://10.8.0.1/")
    denied = {
        "http://169.254.169.254/": "link-local",
        "http://0.0.0.0/": "unspecified",  # never allowed, whatever the lists say
        "http://10.9.1.1/": "denied network",
        "http://[::ffff:10.9.1.1]/": "denied network",
        "http://[fd00:9::1]/": "denied network",
        "http://a.internal.example/": "denied host",
        "http://blocked.example/": "denied host",
        "http://1.1.1.1/": "public",
    }
    for url, rule in denied.items():
        with pytest.raises(ValidationFailed, match=rf"\({rule}\)"):
            policy.check_endpoint(url)
    # An allowed host name may reach a kind that is off, never a denied network.
    policy.check_address(ip_address("1.1.1.1"), "api.partner.example")
    with pytest.raises(DestinationDenied, match="denied network"):
        policy.check_address(ip_address("10.9.0.1"), "api.partner.example")


def test_policy_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        outbound_allow_private=False,
        outbound_denied_hosts=["evil.example"],
    )
    policy = policy_from_settings(settings)
    with pytest.raises(ValidationFailed, match="private"):
        policy.check_endpoint("http://192.168.0.1/")
    with pytest.raises(ConfigurationError) as caught:
        policy_from_settings(Settings(data_dir=tmp_path, outbound_denied_networks=["10.0.0.0/33"]))
    assert caught.value.field == "outbound_networks"


# -- real connections -------------------------------------------------------------


@dataclass
class HostsResolver(AbstractResolver):
    """A hosts table the test controls: each name answers its list of answers in turn."""

    answers: dict[str, list[list[str]]]
    calls: list[str] = field(default_factory=list)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError(f"no such host {host}")
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        return None


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return {
        "hostname": host,
        "host": address,
        "port": port,
        "family": family,
        "proto": 0,
        "flags": 0,
    }


@dataclass
class Target:
    """A real HTTP server on a loopback address that records the requests it got."""

    address: str
    port: int
    seen: list[str]


async def _serve(address: str) -> AsyncIterator[Target]:
    seen: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(request.host)
        return web.Response(text=f"hello from {address}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, address, 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Target(address, port, seen)
    finally:
        await runner.cleanup()


@pytest.fixture
async def allowed_target() -> AsyncIterator[Target]:
    async for target in _serve("127.0.0.1"):
        yield target


@pytest.fixture
async def forbidden_target() -> AsyncIterator[Target]:
    async for target in _serve("127.0.0.2"):
        yield target


def _session(policy: TargetPolicy, resolver: AbstractResolver) -> aiohttp.ClientSession:
    connector = policy_connector(policy, resolver=resolver, use_dns_cache=False, force_close=True)
    return aiohttp.ClientSession(connector=connector, trust_env=False)


#: Loopback off except 127.0.0.1: 127.0.0.2 stands for a forbidden destination.
ONLY_127_0_0_1 = TargetPolicy.build(allow_loopback=False, allowed_networks=["127.0.0.1/32"])


async def test_name_resolving_to_metadata_is_refused(allowed_target: Target) -> None:
    resolver = HostsResolver({"meta.test": [["169.254.169.254"]], "ok.test": [["127.0.0.1"]]})
    async with _session(DEFAULT, resolver) as session:
        with pytest.raises(DestinationDenied) as caught:
            await session.get(f"http://meta.test:{allowed_target.port}/")
        assert caught.value.rule == "link-local"
        assert "169.254.169.254" in str(caught.value)
        async with session.get(f"http://ok.test:{allowed_target.port}/hook") as response:
            assert response.status == 200
    assert allowed_target.seen == [f"ok.test:{allowed_target.port}"]  # Host kept the name


async def test_one_bad_answer_among_several_refuses_the_name(allowed_target: Target) -> None:
    resolver = HostsResolver({"mixed.test": [["127.0.0.1", "::ffff:169.254.169.254"]]})
    async with _session(DEFAULT, resolver) as session:
        with pytest.raises(DestinationDenied, match="link-local"):
            await session.get(f"http://mixed.test:{allowed_target.port}/")
    assert allowed_target.seen == []


async def test_rebinding_name_connects_only_to_the_checked_address(
    allowed_target: Target, forbidden_target: Target
) -> None:
    """The answer changes after the first look-up: the first request still goes to the
    address that was checked, and the next one is refused, never sent to 127.0.0.2."""
    port = allowed_target.port
    assert forbidden_target.port != 0
    resolver = HostsResolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
    async with _session(ONLY_127_0_0_1, resolver) as session:
        async with session.get(f"http://rebind.test:{port}/") as response:
            assert await response.text() == "hello from 127.0.0.1"
        assert resolver.calls == ["rebind.test"]  # resolved once for that connection
        with pytest.raises(DestinationDenied, match="loopback"):
            await session.get(f"http://rebind.test:{port}/")
    assert allowed_target.seen == [f"rebind.test:{port}"]
    assert forbidden_target.seen == []


async def test_ip_literals_are_checked_at_the_socket(
    allowed_target: Target, forbidden_target: Target
) -> None:
    resolver = HostsResolver({})
    async with _session(ONLY_127_0_0_1, resolver) as session:
        with pytest.raises(DestinationDenied, match=r"\(loopback\).*127\.0\.0\.2"):
            await session.get(f"http://127.0.0.2:{forbidden_target.port}/")
        with pytest.raises(DestinationDenied, match="loopback"):
            await session.get(f"http://[::ffff:127.0.0.2]:{forbidden_target.port}/")
        async with session.get(f"http://127.0.0.1:{allowed_target.port}/") as response:
            assert response.status == 200
    assert resolver.calls == []  # literals never reach a resolver: the socket check held
    assert forbidden_target.seen == []


async def test_localhost_dot_and_legacy_forms_never_connect(forbidden_target: Target) -> None:
    resolver = HostsResolver({"localhost": [["127.0.0.2"]], "localhost.": [["127.0.0.2"]]})
    port = forbidden_target.port
    async with _session(ONLY_127_0_0_1, resolver) as session:
        for url in (f"http://localhost.:{port}/", f"http://LOCALHOST:{port}/"):
            with pytest.raises(DestinationDenied, match="loopback"):
                await session.get(url)
        # 2130706434 = 127.0.0.2: aiohttp itself refuses non-canonical IPv4 spellings.
        with pytest.raises(aiohttp.InvalidUrlClientError):
            await session.get(f"http://2130706434:{port}/")
    assert resolver.calls == []
    assert forbidden_target.seen == []


def _self_signed(name: str) -> tuple[bytes, bytes]:
    """A certificate for ``name`` only (no IP), and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


async def test_tls_keeps_the_name_for_sni_and_verification(tmp_path: Path) -> None:
    """Connecting to the checked IP must not lose the name: the certificate is for
    ``svc.test`` only, so the handshake succeeds only if SNI and verification use it."""
    cert_pem, key_pem = _self_signed("svc.test")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    names: list[str | None] = []
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[func-returns-value,assignment]

    async def hook(request: web.Request) -> web.Response:
        return web.Response(text=request.host)

    app = web.Application()
    app.router.add_get("/", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client_context = ssl.create_default_context(cadata=cert_pem.decode())
    resolver = HostsResolver({"svc.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    try:
        connector = policy_connector(DEFAULT, resolver=resolver, ssl=client_context)
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
            async with session.get(f"https://svc.test:{port}/") as response:
                assert await response.text() == f"svc.test:{port}"
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(f"https://other.test:{port}/")
    finally:
        await runner.cleanup()
    assert names[0] == "svc.test"
