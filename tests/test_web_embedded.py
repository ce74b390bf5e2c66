"""The web channel on the embedded path: a posted message becomes a dispatched ticket at once."""

from __future__ import annotations

import httpx
import pytest

from hotline.api.app import create_app
from tests.conftest import agent_headers_for, client_for, settings_for

COMPLAINT = {"name": "张三", "phone": "13800138000", "client_message_id": "web-1",
             "text": "我要投诉塘厦镇某工地夜间施工噪音扰民，每天晚上十二点还在打桩"}


async def test_message_becomes_dispatched_ticket(embedded_client: httpx.AsyncClient) -> None:
    r = await embedded_client.post("/channels/web", json=COMPLAINT)
    assert r.status_code == 202, r.text
    tn = r.json()["tracking_number"]
    assert tn.startswith("DG")

    t = (await embedded_client.get(f"/api/v1/tickets/{tn}")).json()
    assert t["type"] == "complaint"
    assert t["status"] == "dispatched"
    assert t["department_code"] == "env"  # 噪音 → 市生态环境局
    assert t["town_code"] == "town-tangxia"
    assert [e["kind"] for e in t["events"]] == ["received", "dispatched"]
    assert "噪音" in t["events"][1]["reason"]


async def test_same_client_message_id_gives_same_ticket(embedded_client: httpx.AsyncClient) -> None:
    first = await embedded_client.post("/channels/web", json=COMPLAINT)
    again = await embedded_client.post("/channels/web", json=COMPLAINT)
    assert first.json() == again.json()
    page = (await embedded_client.get("/api/v1/tickets", params={"external_id": "web-1"})).json()
    assert len(page["items"]) == 1


async def test_same_text_without_id_is_deduplicated_by_content(embedded_client: httpx.AsyncClient) -> None:
    body = {k: v for k, v in COMPLAINT.items() if k != "client_message_id"}
    a = (await embedded_client.post("/channels/web", json=body)).json()
    b = (await embedded_client.post("/channels/web", json=body)).json()
    c = (await embedded_client.post("/channels/web", json={**body, "text": "另一件事：长安镇路灯坏了"})).json()
    assert a == b
    assert c != a


async def test_unroutable_message_waits_in_manual_queue(embedded_client: httpx.AsyncClient) -> None:
    r = await embedded_client.post("/channels/web", json={"phone": "13800138001", "text": "你好"})
    t = (await embedded_client.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()
    assert t["status"] == "pending_dispatch"
    assert t["department_code"] is None
    queue = (await embedded_client.get("/api/v1/tickets", params={"status": "pending_dispatch"})).json()
    assert [i["tracking_number"] for i in queue["items"]] == [t["tracking_number"]]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"phone": "13800138000"}', 422, "text"),
        (b'{"phone": "13800138000", "text": "   "}', 422, "blank"),
        (b'{"phone": "12", "text": "hi"}', 422, "phone"),
    ],
)
async def test_bad_input_is_refused_clearly_and_nothing_is_stored(
    embedded_client: httpx.AsyncClient, body: bytes, status: int, needle: str
) -> None:
    r = await embedded_client.post("/channels/web", content=body,
                                   headers={"content-type": "application/json"})
    assert r.status_code == status
    problem = r.json()
    assert problem["status"] == status
    assert needle in r.text
    assert (await embedded_client.get("/api/v1/tickets")).json()["items"] == []


async def test_oversized_body_is_413(embedded_client: httpx.AsyncClient) -> None:
    big = b'{"phone": "13800138000", "text": "' + b"x" * 1_048_576 + b'"}'
    r = await embedded_client.post("/channels/web", content=big,
                                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "larger than" in r.json()["detail"]
    assert (await embedded_client.get("/api/v1/tickets")).json()["items"] == []


async def test_pagination_is_stable_while_tickets_arrive(embedded_client: httpx.AsyncClient) -> None:
    for i in range(5):
        await embedded_client.post("/channels/web", json={"phone": "13800138000", "text": f"路灯坏了 {i}"})
    p1 = (await embedded_client.get("/api/v1/tickets", params={"limit": 2})).json()
    await embedded_client.post("/channels/web", json={"phone": "13800138000", "text": "路灯坏了 new"})
    p2 = (await embedded_client.get("/api/v1/tickets",
                                    params={"limit": 2, "cursor": p1["next_cursor"]})).json()
    p3 = (await embedded_client.get("/api/v1/tickets",
                                    params={"limit": 2, "cursor": p2["next_cursor"]})).json()
    seen = [i["text"] for p in (p1, p2, p3) for i in p["items"]]
    assert seen == [f"路灯坏了 {i}" for i in (4, 3, 2, 1, 0)]
    assert p3["next_cursor"] is None
    bad = await embedded_client.get("/api/v1/tickets", params={"cursor": "garbage!"})
    assert bad.status_code == 400


async def test_unknown_ticket_is_404_problem(embedded_client: httpx.AsyncClient) -> None:
    r = await embedded_client.get("/api/v1/tickets/DG000")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_full_path_on_sqlite_embedded_default(sqlite_url: str) -> None:
    async with client_for(create_app(settings_for(sqlite_url))) as c:
        c.headers.update(await agent_headers_for(sqlite_url))
        r = await c.post("/channels/web", json=COMPLAINT)
        assert r.status_code == 202
        again = await c.post("/channels/web", json=COMPLAINT)
        assert again.json() == r.json()
        t = (await c.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()
        assert t["status"] == "dispatched" and t["department_code"] == "env"
        assert t["received_at"].endswith("Z")
        deps = (await c.get("/api/v1/departments", params={"kind": "town"})).json()["items"]
        assert len(deps) == 28
        assert (await c.get("/readyz")).status_code == 200
