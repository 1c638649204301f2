"""Every rule the API checks: a bad value answers 422 naming the field, and nothing changes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.api.samples import event, graphql_action, webhook_action
from tests.support.live import LiveApp
from tests.support.store import snapshot

Document = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Document], None]:
    """Set (or, with ``...``, remove) the member at a dotted path."""

    def change(document: Document) -> None:
        *parents, last = path.split(".")
        node = document
        for name in parents:
            node = node.setdefault(name, {})
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value

    return change


def _inline(endpoint: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document.pop("action")
        document["webhook"] = {"endpoint": endpoint}

    return change


# (what is wrong, how to break a valid event, the field path the error must name)
EVENT_CASES: list[tuple[str, Callable[[Document], None], str]] = [
    (
        "minute out of range",
        _set("schedulingPattern.pattern", "0 60 * * *"),
        "schedulingPattern.pattern",
    ),
    ("not a pattern", _set("schedulingPattern.pattern", "whenever"), "schedulingPattern.pattern"),
    ("empty pattern", _set("schedulingPattern.pattern", ""), "schedulingPattern.pattern"),
    ("pattern too long", _set("schedulingPattern.pattern", "*" * 301), "schedulingPattern.pattern"),
    (
        "unknown zone",
        _set("schedulingPattern.timezone", "Mars/Olympus"),
        "schedulingPattern.timezone",
    ),
    (
        "negative separation",
        _set("schedulingPattern.separation", -1),
        "schedulingPattern.separation",
    ),
    (
        "maxOccurrences 0",
        _set("schedulingPattern.maxOccurrences", 0),
        "schedulingPattern.maxOccurrences",
    ),
    (
        "maxOccurrences past 64 bits",
        _set("schedulingPattern.maxOccurrences", 2**70),
        "schedulingPattern.maxOccurrences",
    ),
    (
        "maxOccurrences past the integer column",
        _set("schedulingPattern.maxOccurrences", 2**31),
        "schedulingPattern.maxOccurrences",
    ),
    (
        "separation past 64 bits",
        _set("schedulingPattern.separation", 2**70),
        "schedulingPattern.separation",
    ),
    ("grace past 64 bits", _set("misfireGraceSeconds", 2**70), "misfireGraceSeconds"),
    (
        "attempts past 64 bits",
        _set("retryPolicy", {"maxAttempts": 2**70}),
        "retryPolicy.maxAttempts",
    ),
    (
        "startAt milliseconds past any date",
        _set("schedulingPattern.startAt", {"$date": 10**30}),
        "schedulingPattern.startAt",
    ),
    (
        "naive startAt",
        _set("schedulingPattern.startAt", "2030-01-01T00:00:00"),
        "schedulingPattern.startAt",
    ),
    (
        "bad endAt",
        _set("schedulingPattern.endAt", {"$date": "tomorrow"}),
        "schedulingPattern.endAt",
    ),
    ("no schedule", _set("schedulingPattern", ...), "schedulingPattern"),
    ("empty key", _set("key", ""), "key"),
    ("key of 201 characters", _set("key", "k" * 201), "key"),
    ("slash in key", _set("key", "a/b"), "key"),
    ("unknown action", _set("action", "missing"), "action"),
    ("placeholder not supplied", _set("params.url", {"other": "1"}), "params.url"),
    ("url param not scalar", _set("params.url.id", {"deep": 1}), "params.url"),
    ("header not text", _set("params.header.X-A", 5), "params.header.X-A"),
    ("Host header", _set("params.header.Host", "internal.example"), "params.header.Host"),
    ("host header, lower case", _set("params.header.host", "x.example"), "params.header.host"),
    (
        "Transfer-Encoding header",
        _set("params.header.Transfer-Encoding", "chunked"),
        "params.header.Transfer-Encoding",
    ),
    ("CR LF in a header name", _set("params.header.X-A\r\nHost", "x"), "params.header.X-A\r\nHost"),
    ("space in a header name", _set("params.header.X A", "x"), "params.header.X A"),
    ("empty header name", _set("params.header.", "x"), "params.header."),
    ("CR LF in a header value", _set("params.header.X-A", "b\r\nHost: x"), "params.header.X-A"),
    ("NUL in a header value", _set("params.header.X-A", "b\x00"), "params.header.X-A"),
    ("url param ..", _set("params.url.id", ".."), "params.url.id"),
    ("url param .", _set("params.url.id", "."), "params.url.id"),
    ("url param ../admin", _set("params.url.id", "../admin"), "params.url.id"),
    ("url param %2e%2E encoded", _set("params.url.id", "%2e%2E"), "params.url.id"),
    ("key ..", _set("key", ".."), "key"),
    ("service not a name", _set("service", "al pha"), "service"),
    (
        "inline Host header",
        _set("webhook", {"endpoint": "https://h.example.org/{id}", "headers": {"Host": "x"}}),
        "webhook.headers.Host",
    ),
    ("ftp endpoint", _inline("ftp://files.example.org/x"), "webhook.endpoint"),
    ("endpoint without host", _inline("http:///x"), "webhook.endpoint"),
    ("inline placeholder missing", _inline("https://h.example.org/<nope>"), "params.url"),
    ("action and inline target", _set("webhook", {"endpoint": "https://h.example.org"}), "body"),
    ("no target", _set("action", ...), "body"),
    ("zero attempts", _set("retryPolicy", {"maxAttempts": 0}), "retryPolicy.maxAttempts"),
    (
        "max backoff below min",
        _set("retryPolicy", {"minBackoffSeconds": 9, "maxBackoffSeconds": 1}),
        "retryPolicy",
    ),
    ("unknown misfire policy", _set("misfirePolicy", "sometimes"), "misfirePolicy"),
    ("negative grace", _set("misfireGraceSeconds", -1), "misfireGraceSeconds"),
    ("server-set status", _set("status", "completed"), "status"),
    ("misspelt field", _set("schedulingPatern", {}), "schedulingPatern"),
    ("title too long", _set("title", "t" * 1001), "title"),
]

ACTION_CASES: list[tuple[str, Callable[[Document], None], str]] = [
    ("unknown type", _set("type", "smtp"), "type"),
    ("type and target differ", _set("type", "graphql"), "body"),
    ("javascript endpoint", _set("webhook.endpoint", "javascript:alert(1)"), "webhook.endpoint"),
    ("relative endpoint", _set("webhook.endpoint", "/hooks"), "webhook.endpoint"),
    ("unknown method", _set("webhook.method", "FETCH"), "webhook.method"),
    ("zero timeout", _set("webhook.timeout", 0), "webhook.timeout"),
    ("header not text", _set("webhook.headers.X-Team", ["a"]), "webhook.headers.X-Team"),
    ("Host header", _set("webhook.headers.Host", "x.example"), "webhook.headers.Host"),
    (
        "Content-Length",
        _set("webhook.headers.Content-Length", "0"),
        "webhook.headers.Content-Length",
    ),
    (
        "Connection header",
        _set("webhook.headers.CONNECTION", "close"),
        "webhook.headers.CONNECTION",
    ),
    (
        "colon in a header name",
        _set("webhook.headers.:authority", "x"),
        "webhook.headers.:authority",
    ),
    ("LF in a header value", _set("webhook.headers.X-Team", "a\nb"), "webhook.headers.X-Team"),
    ("DEL in a header value", _set("webhook.headers.X-Team", "a\x7f"), "webhook.headers.X-Team"),
    ("key .", _set("key", "."), "key"),
    ("key of 201 characters", _set("key", "k" * 201), "key"),
    ("no key", _set("key", ...), "key"),
    ("payload not an object", _set("payload", [1, 2]), "payload"),
]


async def _expect_refused(
    live: LiveApp, http: httpx.AsyncClient, path: str, body: Document, field: str, what: str
) -> None:
    before = await snapshot(live.runtime.store.engine)
    # PUT replaces an existing item; its key comes from the URL.
    put_body = {name: value for name, value in body.items() if name != "key"}
    attempts = [("POST", path, body)]
    if field != "key":
        attempts.append(("PUT", f"{path}/alpha/existing", put_body))
    for method, url, sent in attempts:
        response = await http.request(method, url, json=sent)
        assert response.status_code == 422, (what, method, response.text)
        payload = response.json()
        assert payload["error"] == "validation_failed", what
        fields = [error["field"] for error in payload["errors"]]
        assert field in fields, (what, method, payload)
        assert all(error["reason"] for error in payload["errors"]), what
    assert await snapshot(live.runtime.store.engine) == before, what


async def test_each_bad_event_field_is_named_and_nothing_changes(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        assert (
            await http.put("/v1/events/alpha/existing", json=event("existing"))
        ).status_code == 201
        for what, breaks, field in EVENT_CASES:
            body = copy.deepcopy(event())
            breaks(body)
            await _expect_refused(live, http, "/v1/events", body, field, what)


async def test_each_bad_action_field_is_named_and_nothing_changes(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        assert (
            await http.put("/v1/actions/alpha/existing", json=webhook_action("existing"))
        ).is_success
        for what, breaks, field in ACTION_CASES:
            body = copy.deepcopy(webhook_action())
            breaks(body)
            await _expect_refused(live, http, "/v1/actions", body, field, what)


async def test_a_bad_patch_changes_nothing(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        await http.post("/v1/actions", json=graphql_action())
        await http.post("/v1/events", json=event())
        before = await snapshot(live.runtime.store.engine)
        bad = [
            ("/v1/events/alpha/monthly", {"schedulingPattern": {"timezone": "Nowhere/Land"}}),
            ("/v1/events/alpha/monthly", {"action": "mutate-missing"}),
            ("/v1/events/alpha/monthly", {"key": "renamed"}),
            ("/v1/events/alpha/monthly", {"params": {"url": None}}),
            ("/v1/actions/alpha/mutate", {"graphql": {"endpoint": "file:///etc/passwd"}}),
            ("/v1/events/alpha/monthly", {"params": {"header": {"Host": "x.example"}}}),
            ("/v1/events/alpha/monthly", {"params": {"header": {"X-A": "b\r\nc"}}}),
            ("/v1/events/alpha/monthly", {"params": {"url": {"id": ".."}}}),
            ("/v1/actions/alpha/notify", {"webhook": {"headers": {"Transfer-Encoding": "x"}}}),
            ("/v1/events/alpha/monthly", {"schedulingPattern": {"maxOccurrences": 2**70}}),
            ("/v1/events/alpha/monthly", {"schedulingPattern": {"separation": 2**31}}),
            ("/v1/actions/alpha/notify", {"webhook": {"timeout": 2**70}}),
            ("/v1/actions/alpha/notify", {"retryPolicy": {"maxAttempts": 2**70}}),
        ]
        for path, patch in bad:
            response = await http.patch(path, json=patch)
            assert response.status_code == 422, (patch, response.text)
        assert await snapshot(live.runtime.store.engine) == before


async def test_zone_names_with_spaces_are_accepted_and_typos_get_suggestions(
    live: LiveApp,
) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        spaced = event("spaced")
        spaced["schedulingPattern"]["timezone"] = "America/Sao Paulo"
        typo = event("typo")
        typo["schedulingPattern"]["timezone"] = "America/Sao_Paolo"
        accepted = await http.post("/v1/events", json=spaced)
        refused = await http.post("/v1/events", json=typo)
    assert accepted.status_code == 201
    assert accepted.json()["schedulingPattern"]["timezone"] == "America/Sao_Paulo"
    assert refused.status_code == 422
    assert "America/Sao_Paulo" in refused.json()["errors"][0]["reason"]


async def test_malformed_json_is_400_and_a_huge_body_413(live: LiveApp) -> None:
    headers = {"Content-Type": "application/json"}
    async with live.client("alpha") as http:
        before = await snapshot(live.runtime.store.engine)
        malformed = await http.post("/v1/events", content=b'{"key": ', headers=headers)
        not_object = await http.post("/v1/events", json=[1, 2])
        huge_title = "t" * (256 * 1024)
        huge = await http.post("/v1/events", json=event(title=huge_title))
        after = await snapshot(live.runtime.store.engine)
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "malformed_json"
    assert not_object.status_code == 422
    assert huge.status_code == 413
    assert huge.json()["errors"][0]["field"] == "body"
    assert after == before


#: The documented list (SECURITY.md, docs/reference/api.md): framing, hop-by-hop, proxy.
FORBIDDEN_HEADERS = [
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Keep-Alive",
    "TE",
    "Trailer",
    "Upgrade",
    "Proxy-Connection",
    "Proxy-Authorization",
    "Proxy-Authenticate",
    "Expect",
    "HTTP2-Settings",
]


async def test_every_framing_header_is_refused_in_any_case_and_place(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        before = await snapshot(live.runtime.store.engine)
        for name in FORBIDDEN_HEADERS:
            for spelled in (name, name.lower(), name.upper()):
                action = webhook_action("framing")
                action["webhook"]["headers"] = {spelled: "1"}
                answers = [
                    (await http.post("/v1/actions", json=action), f"webhook.headers.{spelled}"),
                    (
                        await http.post(
                            "/v1/events", json=event(params={"header": {spelled: "1"}})
                        ),
                        f"params.header.{spelled}",
                    ),
                ]
                for answer, field in answers:
                    assert answer.status_code == 422, (spelled, answer.text)
                    assert [e["field"] for e in answer.json()["errors"]] == [field]
                    assert spelled in answer.json()["errors"][0]["reason"]
        assert await snapshot(live.runtime.store.engine) == before


async def test_ordinary_headers_and_encoded_url_values_are_kept(live: LiveApp) -> None:
    headers = {"X-Tab": "a\tb", "Content-Type": "application/json", "x!#$%&'*+.^_`|~": "ok"}
    document = event(params={"url": {"id": "a%2Fb...c"}, "header": headers})
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        created = await http.post("/v1/events", json=document)
    assert created.status_code == 201, created.text
    assert created.json()["params"]["header"] == headers
    assert created.json()["params"]["url"] == {"id": "a%2Fb...c"}


async def test_an_integer_past_the_column_names_the_field_and_its_bound(live: LiveApp) -> None:
    body = event("huge")
    body["schedulingPattern"]["maxOccurrences"] = 2**70
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        response = await http.post("/v1/events", json=body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "schedulingPattern.maxOccurrences"
    assert str(2**31 - 1) in error["reason"]


#: Cursors no page ever handed out: not ASCII (raw bytes, NUL; an accented word), and
#: for the id-keyed listings also not base64, not an id, an id past 64 bits.
MALFORMED_CURSORS = ["%00%FF", "%C3%A9t%C3%A9", "a%0Ab"]
NOT_AN_ID_CURSORS = ["AAAA", "aWQ6LTE", "aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk"]
LISTINGS = {
    "/v1/events": MALFORMED_CURSORS + NOT_AN_ID_CURSORS,
    "/v1/actions": MALFORMED_CURSORS + NOT_AN_ID_CURSORS,
    "/v1/deliveries": MALFORMED_CURSORS,
    "/v1/events/alpha/monthly/deliveries": MALFORMED_CURSORS,
}


async def test_a_foreign_cursor_is_422_on_every_listing(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        assert (await http.post("/v1/events", json=event())).status_code == 201
        for path, cursors in LISTINGS.items():
            for cursor in cursors:
                response = await http.get(f"{path}?cursor={cursor}")
                assert response.status_code == 422, (path, cursor, response.text)
                assert response.json()["errors"] == [
                    {"field": "cursor", "reason": "not a cursor from a previous page's nextCursor"}
                ], (path, cursor)


async def test_a_signing_secret_id_past_64_bits_is_422(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        response = await http.delete(f"/v1/services/alpha/signing-secrets/{2**70}")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "secret_id"


#: ``1e999`` is valid JSON syntax that parses as infinity, which no answer can show:
#: (where, a document, the JSON text replaced by it, the field the refusal names).
INFINITE_CASES = [
    ("/v1/events", event("infinite-body"), '"world"', "params.body"),
    ("/v1/events", event("infinite-url"), '"42"', "params.url"),
    ("/v1/actions", graphql_action("infinite"), "10", "payload"),
]


async def test_a_number_past_any_float_is_refused_not_stored(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        before = await snapshot(live.runtime.store.engine)
        for path, document, replaced, field in INFINITE_CASES:
            body = json.dumps(document).replace(replaced, "-1e999", 1).encode()
            for content_type in ("application/json", "application/json; charset=utf-8"):
                headers = {"Content-Type": content_type}
                response = await http.post(path, content=body, headers=headers)
                assert response.status_code == 422, (path, content_type, response.text)
                assert response.json()["errors"][0]["field"] == field, (path, content_type)
        assert await snapshot(live.runtime.store.engine) == before
