"""``POST /v1/schedules/preview``: next fires and a description, validated like an event."""

from __future__ import annotations

from tests.support.live import LiveApp


async def test_preview_lists_the_next_fires_in_utc(live: LiveApp) -> None:
    body = {
        "schedulingPattern": {"pattern": "0 1 15 8 *", "timezone": "America/Sao Paulo"},
        "count": 3,
    }
    async with live.client("alpha") as http:
        response = await http.post("/v1/schedules/preview", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["timezone"] == "America/Sao_Paulo"
    assert answer["after"] == "2030-01-01T00:00:00Z"
    assert answer["nextFires"] == [
        "2030-08-15T04:00:00Z",
        "2031-08-15T04:00:00Z",
        "2032-08-15T04:00:00Z",
    ]
    assert answer["description"]


async def test_preview_honours_after_and_max_occurrences(live: LiveApp) -> None:
    body = {
        "schedulingPattern": {"pattern": "0 12 * * *", "maxOccurrences": 2},
        "after": {"$date": "2031-05-01T13:00:00Z"},
        "count": 10,
    }
    async with live.client("alpha") as http:
        response = await http.post("/v1/schedules/preview", json=body)
    assert response.json()["nextFires"] == ["2031-05-02T12:00:00Z", "2031-05-03T12:00:00Z"]


async def test_preview_accepts_a_step_wider_than_its_field(live: LiveApp) -> None:
    body = {
        "schedulingPattern": {"pattern": "0 0 */40 * *"},
        "after": {"$date": "2031-05-01T13:00:00Z"},
        "count": 2,
    }
    async with live.client("alpha") as http:
        response = await http.post("/v1/schedules/preview", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["nextFires"] == ["2031-06-01T00:00:00Z", "2031-07-01T00:00:00Z"]
    assert response.json()["description"] == "At 00:00, on day 1 of the month"


async def test_preview_names_what_is_wrong(live: LiveApp) -> None:
    cases = [
        ({"schedulingPattern": {"pattern": "61 * * * *"}}, "schedulingPattern.pattern"),
        (
            {"schedulingPattern": {"pattern": "* * * * *", "timezone": "X/Y"}},
            "schedulingPattern.timezone",
        ),
        ({"schedulingPattern": {"pattern": "* * * * *"}, "count": 101}, "count"),
        ({}, "schedulingPattern"),
    ]
    async with live.client("alpha") as http:
        for body, field in cases:
            response = await http.post("/v1/schedules/preview", json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field, response.json()
        unauthenticated = await http.post(
            "/v1/schedules/preview", json=cases[0][0], headers={"Authorization": ""}
        )
    assert unauthenticated.status_code == 401
