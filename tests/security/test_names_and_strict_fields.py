"""Service names, keys and strict numbers: nothing is stored that no URL can reach again.

A service name travels in a token's ``sub`` and in URL paths, a key in URL paths: a
``/`` or a ``..`` there made items that could be created but never read or deleted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from onewatch.errors import ValidationFailed
from onewatch.security.tokens import Principal, mint_token
from onewatch.security.ui_tokens import mint_link_token
from tests.api.samples import event, webhook_action
from tests.support.live import LiveApp, live_app
from tests.support.store import snapshot

BAD_SERVICE_NAMES = ["a/b", "..", ".", "-x", "al pha", "ü", "a" * 101, "a\nb", "x%2Fy"]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_app(tmp_path) as node:
        yield node


def _token_for_sub(live: LiveApp, sub: str, *, admin: bool = False) -> str:
    """A well-signed token whose ``sub`` an older ``token create`` would have minted."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": sub, "iat": now, "exp": now + timedelta(hours=1)}
    if admin:
        claims["scope"] = "admin"
    return jwt.encode(claims, live.secret, algorithm="HS256")


@pytest.mark.parametrize("name", BAD_SERVICE_NAMES)
def test_no_token_is_minted_for_an_invalid_service_name(name: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        mint_token("s" * 48, name)
    assert refused.value.field == "service"
    with pytest.raises(ValidationFailed):
        mint_link_token("s" * 48, Principal(name), now=datetime.now(UTC))


def test_valid_service_names_are_minted() -> None:
    for name in ("alpha", "billing-eu.v2", "s_1", "9lives", "a" * 100):
        assert mint_token("s" * 48, name)


async def test_a_token_whose_sub_is_no_service_name_is_refused(live: LiveApp) -> None:
    before = await snapshot(live.runtime.store.engine)
    async with live.client() as http:
        for sub in ("a/b", ".."):
            for admin in (False, True):
                headers = {"Authorization": f"Bearer {_token_for_sub(live, sub, admin=admin)}"}
                created = await http.post("/v1/actions", json=webhook_action(), headers=headers)
                assert created.status_code == 401, (sub, created.text)
                assert created.json()["error"] == "unauthorized"
                assert "sub" in created.json()["message"]
    assert await snapshot(live.runtime.store.engine) == before


async def test_dot_keys_and_bad_service_names_are_refused_in_bodies_and_paths(
    live: LiveApp,
) -> None:
    before = await snapshot(live.runtime.store.engine)
    async with live.client("ops", admin=True) as http:
        answers = [
            (await http.post("/v1/actions", json=webhook_action("..")), "key"),
            (await http.post("/v1/events", json=event(".", action="notify")), "key"),
            (
                await http.post("/v1/actions", json={**webhook_action(), "service": "a b"}),
                "service",
            ),
            (await http.put("/v1/actions/al%20pha/notify", json=webhook_action()), "service"),
            (await http.post("/v1/services/al%20pha/signing-secrets"), "service"),
        ]
    for answer, field in answers:
        assert answer.status_code == 422, answer.text
        assert [error["field"] for error in answer.json()["errors"]] == [field], answer.text
    assert await snapshot(live.runtime.store.engine) == before


async def test_a_created_item_can_be_read_and_deleted_again(live: LiveApp) -> None:
    async with live.client("billing-eu.v2") as http:
        assert (await http.post("/v1/actions", json=webhook_action("a...b"))).status_code == 201
        assert (await http.get("/v1/actions/billing-eu.v2/a...b")).status_code == 200
        assert (await http.delete("/v1/actions/billing-eu.v2/a...b")).status_code == 204


@pytest.mark.parametrize("overlap", [False, True, "60", [60]])
async def test_rotate_overlap_seconds_must_be_a_number(live: LiveApp, overlap: object) -> None:
    path = "/v1/services/alpha/signing-secrets"
    async with live.client("alpha") as http:
        refused = await http.post(f"{path}/rotate", json={"overlapSeconds": overlap})
        listed = await http.get(path)
    assert refused.status_code == 422, refused.text
    assert [error["field"] for error in refused.json()["errors"]] == ["overlapSeconds"]
    assert listed.json()["items"] == []


async def test_rotate_still_takes_whole_and_fractional_seconds(live: LiveApp) -> None:
    path = "/v1/services/alpha/signing-secrets/rotate"
    async with live.client("alpha") as http:
        for overlap in (0, 60, 1.5):
            rotated = await http.post(path, json={"overlapSeconds": overlap})
            assert rotated.status_code == 201, rotated.text
