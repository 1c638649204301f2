"""Health, readiness, OpenAPI, and the error shape of unknown routes."""

from __future__ import annotations

from pathlib import Path

from tests.support.live import live_app, node_settings


async def test_readyz_is_503_until_the_schema_is_migrated(tmp_path: Path) -> None:
    settings = node_settings(tmp_path, ["api"]).model_copy(update={"migrate_on_start": False})
    async with live_app(tmp_path, settings=settings) as live, live.client() as http:
        not_ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert not_ready.status_code == 503
    assert not_ready.json()["error"] == "not_ready"
    assert "onewatch migrate" in not_ready.json()["message"]
    assert alive.status_code == 200


async def test_openapi_documents_every_route_and_unknown_routes_use_the_error_shape(
    tmp_path: Path,
) -> None:
    async with live_app(tmp_path) as live, live.client("alpha") as http:
        spec = (await http.get("/openapi.json")).json()
        docs = await http.get("/docs")
        unknown = await http.get("/v1/nothing-here")
        wrong_verb = await http.delete("/v1/actions")
    for path in (
        "/v1/actions",
        "/v1/actions/{service}/{key}",
        "/v1/events",
        "/v1/events/{service}/{key}",
        "/v1/events/{service}/{key}/pause",
        "/v1/events/{service}/{key}/resume",
        "/v1/events/{service}/{key}/trigger",
        "/v1/schedules/preview",
        "/healthz",
        "/readyz",
    ):
        assert path in spec["paths"], path
    put_body = spec["paths"]["/v1/events/{service}/{key}"]["put"]["requestBody"]
    assert put_body["content"]["application/json"]["schema"]["$ref"].endswith("EventDocument")
    assert docs.status_code == 200
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    assert wrong_verb.status_code == 405
    assert set(wrong_verb.json()) == {"error", "message", "errors"}
