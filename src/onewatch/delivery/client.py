"""The one pooled aiohttp session a dispatcher sends through.

``build_connector`` is the single place the TCP connector is made, so the target policy
(a resolver that checks and pins the resolved address) plugs in there.
"""

from __future__ import annotations

import aiohttp

from onewatch.delivery.target_policy import policy_connector, policy_from_settings
from onewatch.settings import Settings


def build_connector(settings: Settings) -> aiohttp.BaseConnector:
    """Pooled keep-alive connections, bounded overall; per host, per service.

    The per-host bound is not the connector's (one queue for the whole node, which one
    service's hanging target can fill): ``delivery.host_slots`` counts each service's
    calls to each host before they reach the pool, so the connector has none.

    Every connection goes through the outbound target policy: names are resolved once,
    each address is checked, and the socket connects to exactly the checked address.
    """
    return policy_connector(
        policy_from_settings(settings),
        limit=settings.dispatcher_concurrency,
        limit_per_host=0,
        ttl_dns_cache=60,
        enable_cleanup_closed=False,
    )


def create_session(
    settings: Settings, connector: aiohttp.BaseConnector | None = None
) -> aiohttp.ClientSession:
    """A session with the configured timeouts; no cookies kept between targets."""
    timeout = aiohttp.ClientTimeout(
        total=settings.http_total_timeout_seconds,
        sock_connect=settings.http_connect_timeout_seconds,
    )
    return aiohttp.ClientSession(
        connector=connector or build_connector(settings),
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=True,
        raise_for_status=False,
    )
