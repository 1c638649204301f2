"""The original system's exported documents are accepted as bodies, exactly as they are."""

from __future__ import annotations

from tests.api.samples import load_seed
from tests.support.live import LiveApp


async def test_the_three_seed_documents_as_bodies(live: LiveApp) -> None:
    graphql = load_seed("action-graphql.json")
    webhook = load_seed("action-webhook.json")
    seed_event = load_seed("event-webhook-params.json")
    async with live.client("xulamps") as xulamps, live.client("capybara") as capybara:
        graphql_answer = await xulamps.post("/v1/actions", json=graphql)
        webhook_answer = await capybara.post("/v1/actions", json=webhook)
        # The event names action "capybara" of its own service, which the dump lacks.
        orphan = await xulamps.post("/v1/events", json=seed_event)
        # Give xulamps that action (the webhook's shape), then the event is accepted.
        capybara_action = {**webhook, "service": "xulamps", "key": "capybara"}
        assert (await xulamps.post("/v1/actions", json=capybara_action)).status_code == 201
        event_answer = await xulamps.post("/v1/events", json=seed_event)
        replayed = await xulamps.put("/v1/events/xulamps/unique-event-key", json=seed_event)

    assert graphql_answer.status_code == 201, graphql_answer.text
    assert graphql_answer.json()["graphql"] == graphql["graphql"]
    assert graphql_answer.json()["payload"] == {}
    assert graphql_answer.json()["id"] != graphql["_id"]  # server-owned, ignored
    assert webhook_answer.status_code == 201, webhook_answer.text
    assert webhook_answer.json()["createdAt"] == "2030-01-01T00:00:00Z"  # not 0001-01-03

    assert orphan.status_code == 422
    assert orphan.json()["errors"] == [
        {"field": "action", "reason": "no action 'capybara' in service 'xulamps'"}
    ]

    assert event_answer.status_code == 201, event_answer.text
    body = event_answer.json()
    for name in ("service", "key", "action", "title", "status", "params"):
        assert body[name] == seed_event[name], name
    assert body["schedulingPattern"]["pattern"] == "0 1 15 8 *"
    assert body["schedulingPattern"]["maxOccurrences"] == 12
    # 01:00 in São Paulo on 15 August = 04:00Z, computed (the dump's 2020 value is ignored).
    assert body["nextOccurrence"] == "2030-08-15T04:00:00Z"
    assert replayed.status_code == 200
    assert replayed.json() == body


async def test_instants_as_mongo_dates_or_iso_strings(live: LiveApp) -> None:
    base = load_seed("event-webhook-params.json")
    base.pop("action")
    base["webhook"] = {"endpoint": "https://hooks.example.org/<id>"}
    windows = {
        "mongo": {"$date": "2031-01-01T00:00:00Z"},
        "millis": {"$date": 1924992000000},
        "number-long": {"$date": {"$numberLong": "1924992000000"}},
        "iso": "2031-01-01T00:00:00+00:00",
    }
    async with live.client("xulamps") as http:
        answers = {}
        for name, start in windows.items():
            document = {**base, "key": name}
            document["schedulingPattern"] = {**base["schedulingPattern"], "startAt": start}
            answers[name] = await http.post("/v1/events", json=document)
    for name, answer in answers.items():
        assert answer.status_code == 201, (name, answer.text)
        assert answer.json()["schedulingPattern"]["startAt"] == "2031-01-01T00:00:00Z", name
        assert answer.json()["nextOccurrence"] == "2031-08-15T04:00:00Z", name
