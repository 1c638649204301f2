"""Every ``/v1`` route of the app, attacked: the routes are read from ``app.routes``, so a
route added later is in the matrix without anyone remembering to add it.

For each route and method: no token, an expired token, ``alg: none``, a token signed
with another key and an RS256 token (key confusion) all get 401; a token of service
``alpha`` reaching for service ``bravo``'s items gets 403 or 404 (or, for a route that
holds no tenant data, an answer that shows none of ``bravo``'s), and changes nothing of
``bravo``'s; an admin token reads ``bravo``'s items.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastapi.routing
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.security.tokens import mint_token
from onewatch.settings import Settings
from onewatch.store.schema import actions, deliveries, events, signing_secrets
from tests.security.conftest import bearer, build_app, served
from tests.support.live import TEST_SECRET

OWNER, INTRUDER = "bravo", "alpha"
KEY = "item"  # the owner's action and event share this key
NEVER = "2099-01-01T00:00:00Z"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(service: str, **claims: Any) -> str:
    payload: dict[str, Any] = {"sub": service, "exp": datetime.now(UTC) + timedelta(minutes=5)}
    payload.update(claims)
    return jwt.encode(payload, TEST_SECRET, algorithm="HS256")


def _alg_none(service: str) -> str:
    claims = {"sub": service, "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())}
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _bad_tokens() -> dict[str, str | None]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    exp = datetime.now(UTC) + timedelta(minutes=5)
    return {
        "no token": None,
        "expired": _token(OWNER, exp=datetime.now(UTC) - timedelta(hours=1)),
        "alg none": _alg_none(OWNER),
        "another key": jwt.encode({"sub": OWNER, "exp": exp}, "k" * 48, algorithm="HS256"),
        "RS256 own key": jwt.encode({"sub": OWNER, "exp": exp}, rsa_key, algorithm="RS256"),
        "no exp": jwt.encode({"sub": OWNER}, TEST_SECRET, algorithm="HS256"),
        "admin, expired": _token("ops", scope="admin", exp=datetime.now(UTC) - timedelta(hours=1)),
    }


@dataclass
class Owned:
    """The owner's items, by the path parameter that names each."""

    values: dict[str, str]

    def fill(self, path: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.values:
                pytest.fail(f"{path}: add the owner's value for {{{name}}} to the matrix")
            return self.values[name]

        return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", value, path)


@dataclass
class Matrix:
    app: FastAPI
    http: httpx.AsyncClient
    owned: Owned

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.runtime.store.engine
        return engine


#: A valid body per collection route, naming the owner's service: a malformed body would
#: be refused (422) before the ownership check could be seen.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/actions"): {
        "service": OWNER,
        "key": "new",
        "type": "webhook",
        "webhook": {"endpoint": "http://127.0.0.1:9/x"},
    },
    ("POST", "/v1/events"): {
        "service": OWNER,
        "key": "new",
        "action": KEY,
        "schedulingPattern": {"pattern": NEVER},
    },
    ("POST", "/v1/schedules/preview"): {"schedulingPattern": {"pattern": "@daily"}},
    # A new event of the owner's, and a replacement of the owner's existing one.
    ("POST", "/v1/events/batch"): {
        "items": [
            {"service": OWNER, "key": key, "action": KEY, "schedulingPattern": {"pattern": NEVER}}
            for key in ("new", KEY)
        ]
    },
}
#: Routes that answer 200 with a result per item: each item must be refused.
PER_ITEM = {("POST", "/v1/events/batch")}


def _v1_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every ``/v1`` route, as the router (and OpenAPI) sees them.

    FastAPI 0.16x keeps included routers lazily: ``iter_route_contexts`` flattens them
    (it is what the OpenAPI generator walks); older versions list routes directly.
    """
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Iterable[Any] = flatten(app.routes) if flatten is not None else app.routes
    found = [
        (method, str(route.path))
        for route in routes
        if isinstance(getattr(route, "original_route", route), APIRoute)
        and str(route.path).startswith("/v1/")
        for method in sorted(route.methods or ())
    ]
    assert len(found) >= 20, found  # the matrix really is reading the app's routes
    return found


async def _seed(http: httpx.AsyncClient) -> Owned:
    owner = bearer(_token(OWNER))
    action = {"key": KEY, "type": "webhook", "webhook": {"endpoint": "http://127.0.0.1:9/x"}}
    event = {"key": KEY, "action": KEY, "schedulingPattern": {"pattern": NEVER}}
    assert (await http.post("/v1/actions", json=action, headers=owner)).status_code == 201
    assert (await http.post("/v1/events", json=event, headers=owner)).status_code == 201
    triggered = await http.post(f"/v1/events/{OWNER}/{KEY}/trigger", headers=owner)
    secret = await http.post(f"/v1/services/{OWNER}/signing-secrets", headers=owner)
    assert triggered.status_code == 202 and secret.status_code == 201
    return Owned(
        {
            "service": OWNER,
            "key": KEY,
            "delivery_id": triggered.json()["id"],
            "secret_id": str(secret.json()["id"]),
        }
    )


async def _owner_state(engine: AsyncEngine) -> list[list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        return [
            [tuple(row) for row in await connection.execute(select(table).order_by(table.c.id))]
            for table in (actions, events, deliveries, signing_secrets)
        ]


@pytest.fixture
async def matrix(tmp_path: Path) -> AsyncIterator[Matrix]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'onewatch.db'}",
        jwt_secret=SecretStr(TEST_SECRET),
        roles=["api"],
        quota_requests_per_second=0,
    )
    app = build_app(settings)
    async with served(app) as http:
        yield Matrix(app, http, await _seed(http))


def _request(matrix: Matrix, method: str, path: str) -> dict[str, Any]:
    body = BODIES.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)
    return {"method": method, "url": matrix.owned.fill(path), "json": body}


async def test_bad_tokens_get_401_on_every_route(matrix: Matrix) -> None:
    before = await _owner_state(matrix.engine)
    for method, path in _v1_routes(matrix.app):
        for name, token in _bad_tokens().items():
            headers = bearer(token) if token else {}
            response = await matrix.http.request(**_request(matrix, method, path), headers=headers)
            assert response.status_code == 401, (name, method, path, response.text)
            assert response.json()["error"] == "unauthorized"
    assert await _owner_state(matrix.engine) == before


async def test_another_services_token_reaches_nothing_of_the_owner(matrix: Matrix) -> None:
    intruder = bearer(_token(INTRUDER))
    before = await _owner_state(matrix.engine)
    secrets_seen: list[str] = []
    for method, path in _v1_routes(matrix.app):
        request = _request(matrix, method, path)
        if "{" not in path and method == "GET":
            scoped = await matrix.http.get(
                request["url"], params={"service": OWNER}, headers=intruder
            )
            assert scoped.status_code in (403, 404), (path, scoped.text)
        response = await matrix.http.request(**request, headers=intruder)
        allowed = (403, 404)
        if (method, path) in PER_ITEM and response.status_code == 200:
            statuses = {item["status"] for item in response.json()["items"]}
            assert statuses == {403}, (method, path, response.text)
            continue
        if "{" not in path and response.status_code < 300:
            # A collection route answered for the caller's own service: none of the owner's.
            assert OWNER not in response.text, (method, path, response.text)
            assert matrix.owned.values["delivery_id"] not in response.text
            continue
        assert response.status_code in allowed, (method, path, response.text)
        secrets_seen.append(response.text)
    assert await _owner_state(matrix.engine) == before, "the intruder changed the owner's data"
    assert not any("whsec_" in text for text in secrets_seen)


async def test_the_owner_and_an_admin_read_every_item(matrix: Matrix) -> None:
    """The control: the paths the intruder got 403/404 on are real, readable items."""
    owner = bearer(_token(OWNER))
    admin = bearer(mint_token(TEST_SECRET, "ops", admin=True))
    reads = [(method, path) for method, path in _v1_routes(matrix.app) if method == "GET"]
    for _method, path in reads:
        url = matrix.owned.fill(path)
        assert (await matrix.http.get(url, headers=owner)).status_code in (200, 403), path
        as_admin = await matrix.http.get(url, headers=admin)
        assert as_admin.status_code == 200, (path, as_admin.text)
        if path in ("/v1/events", "/v1/actions", "/v1/deliveries"):
            assert OWNER in as_admin.text, path
