"""The OpenAPI document and the /docs page: every failure documented, nothing from a CDN."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import ValidationError

from onewatch.domain.documents import TARGET_KINDS, ActionDocument, EventDocument
from tests.support.live import LiveApp, live_app

WRITES = {"post", "put", "patch", "delete"}
Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_app(tmp_path) as live:
        yield live


@pytest.fixture
async def spec(node: LiveApp) -> dict[str, Any]:
    async with node.client() as http:
        answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def v1_operations(spec: dict[str, Any]) -> Iterator[Operation]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path.startswith("/v1/"):
                yield path, method, operation


def error_ref(operation: dict[str, Any], status: int) -> str:
    return str(operation["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"])


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_v1_operation_lists_its_failures_in_the_error_shape(spec: dict[str, Any]) -> None:
    operations = list(v1_operations(spec))
    assert len(operations) >= 20
    for path, method, operation in operations:
        statuses = {int(status) for status in operation["responses"] if status[0] in "45"}
        where = f"{method.upper()} {path}"
        assert operation["security"] == [{"bearer": []}], where
        assert {401, 403, 429} <= statuses, where
        if "{" in path:
            assert 404 in statuses, where
        if "requestBody" in operation:
            assert {400, 413, 422} <= statuses, where
        if method in WRITES or operation.get("parameters"):
            assert 422 in statuses, where
        for status in statuses:
            assert error_ref(operation, status) == "#/components/schemas/Error", (where, status)


def test_writes_that_can_collide_list_409(spec: dict[str, Any]) -> None:
    operations = {(method, path): op for path, method, op in v1_operations(spec)}
    for method, path in (
        ("post", "/v1/events"),
        ("post", "/v1/actions"),
        ("put", "/v1/events/{service}/{key}"),
        ("delete", "/v1/actions/{service}/{key}"),
        ("post", "/v1/events/{service}/{key}/pause"),
        ("post", "/v1/deliveries/{delivery_id}/redrive"),
    ):
        assert "409" in operations[method, path]["responses"], (method, path)
    assert "409" not in operations["post", "/v1/schedules/preview"]["responses"]


def test_429_and_401_document_their_headers_and_readyz_its_503(spec: dict[str, Any]) -> None:
    create = spec["paths"]["/v1/events"]["post"]["responses"]
    assert create["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "rate_limited" in create["429"]["description"]
    assert "WWW-Authenticate" in create["401"]["headers"]
    assert error_ref(spec["paths"]["/readyz"]["get"], 503) == "#/components/schemas/Error"
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "errors"}
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # not our 422 shape


WEBHOOK = {"endpoint": "http://127.0.0.1:9/hook"}
GRAPHQL = {"endpoint": "http://127.0.0.1:9/graphql", "query": "mutation { ping }"}
LAMBDA = {"function": "billing-close"}
SQS = {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}
PATTERN = {"pattern": "@daily"}
EVENTS = [
    {"key": "a", "action": "send", "schedulingPattern": PATTERN},
    {"key": "a", "webhook": WEBHOOK, "schedulingPattern": PATTERN},
    {"key": "a", "type": "graphql", "graphql": GRAPHQL, "schedulingPattern": PATTERN},
    {"key": "a", "action": "send", "webhook": None, "schedulingPattern": PATTERN},
    {"key": "a", "action": "send", "webhook": WEBHOOK, "schedulingPattern": PATTERN},
    {"key": "a", "webhook": WEBHOOK, "graphql": GRAPHQL, "schedulingPattern": PATTERN},
    {"key": "a", "type": "graphql", "webhook": WEBHOOK, "schedulingPattern": PATTERN},
    {"key": "a", "schedulingPattern": PATTERN},
    {"key": "a", "lambda": LAMBDA, "schedulingPattern": PATTERN},
    {"key": "a", "type": "sqs", "sqs": SQS, "schedulingPattern": PATTERN},
    {"key": "a", "type": "lambda", "sqs": SQS, "schedulingPattern": PATTERN},
    {"key": "a", "lambda": LAMBDA, "sqs": SQS, "schedulingPattern": PATTERN},
    {"key": "a", "action": "send", "lambda": LAMBDA, "schedulingPattern": PATTERN},
]
ACTIONS = [
    {"key": "a", "type": "webhook", "webhook": WEBHOOK},
    {"key": "a", "type": "graphql", "graphql": GRAPHQL, "webhook": None},
    {"key": "a", "type": "graphql", "webhook": WEBHOOK},
    {"key": "a", "type": "webhook", "webhook": WEBHOOK, "graphql": GRAPHQL},
    {"key": "a", "type": "webhook"},
    {"key": "a", "type": "lambda", "lambda": LAMBDA},
    {"key": "a", "type": "sqs", "sqs": SQS, "lambda": None},
    {"key": "a", "type": "sqs", "lambda": LAMBDA},
    {"key": "a", "type": "lambda", "lambda": LAMBDA, "webhook": WEBHOOK},
]


def _schema_accepts(spec: dict[str, Any], model: str, document: dict[str, Any]) -> bool:
    root = {"$ref": f"#/components/schemas/{model}", "components": spec["components"]}
    return Draft202012Validator(root).is_valid(document)


def _model_accepts(model: type[EventDocument | ActionDocument], document: dict[str, Any]) -> bool:
    try:
        model.model_validate(document)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("model", "document"),
    [(EventDocument, d) for d in EVENTS] + [(ActionDocument, d) for d in ACTIONS],
)
def test_the_schema_states_the_one_target_rule_as_the_model_checks_it(
    spec: dict[str, Any], model: type[EventDocument | ActionDocument], document: dict[str, Any]
) -> None:
    schema = spec["components"]["schemas"][model.__name__]
    assert len(schema["oneOf"]) in (len(TARGET_KINDS), len(TARGET_KINDS) + 1)
    assert "exactly one" in schema["description"].lower()
    assert _schema_accepts(spec, model.__name__, document) == _model_accepts(model, document)


class _Assets(HTMLParser):
    """The URLs a page makes the browser load: scripts, styles, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(("script", str(values["src"])))
        if tag == "link" and values.get("href"):
            self.urls.append((str(values.get("rel")), str(values["href"])))


EXPECTED_TYPES = {"script": "javascript", "stylesheet": "text/css", "shortcut icon": "image/"}


async def test_docs_loads_everything_from_its_own_origin(node: LiveApp) -> None:
    async with node.client() as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        parser = _Assets()
        parser.feed(page.text)
        assert {kind for kind, _ in parser.urls} == set(EXPECTED_TYPES)
        for kind, url in parser.urls:
            absolute = urljoin(node.base_url + "/docs", url)
            assert urlsplit(absolute).netloc == urlsplit(node.base_url).netloc, url
            asset = await http.get(absolute)
            assert asset.status_code == 200, url
            assert EXPECTED_TYPES[kind] in asset.headers["content-type"], (url, asset.headers)
        assert "/openapi.json" in page.text
        redoc = await http.get("/redoc")
    assert redoc.status_code == 404  # dropped: it would need inline styles


async def test_docs_policy_allows_only_its_own_inline_script(node: LiveApp) -> None:
    async with node.client() as http:
        page = await http.get("/docs")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    sources = policy["script-src"].split()
    assert sources[0] == "'self'"
    assert len(sources) == 2 and sources[1].startswith("'sha256-")
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert policy["style-src"] == "'self'"
    assert page.headers["x-content-type-options"] == "nosniff"
