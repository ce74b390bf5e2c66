"""The gateway's durable spool: a FIFO on disk that survives restarts, and 503 when it cannot be written."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.intake.spool import Spool
from hotline.kit.db import Database
from hotline.tickets.models import Ticket
from tests.conftest import client_for, settings_for
from tests.support.broker import Broker

HEADERS = [("schema_version", b"1"), ("channel", b"web")]


def test_records_come_back_in_order_after_a_reopen_and_only_deleted_ones_go(tmp_path: Path) -> None:
    path = tmp_path / "spool" / "spool.db"  # the folder is made on first use
    spool = Spool(path)
    spool.open()
    spool.append("intake", [(b"phone:+861", b"a1", HEADERS), (b"phone:+862", b"b1", HEADERS)])
    spool.append("intake", [(b"phone:+861", b"a2", HEADERS)])
    spool.close()  # a gateway restart (or crash: every append was committed and fsync'd)

    again = Spool(path)
    head = again.head(10)
    assert [(r.topic, r.key, r.value) for r in head] == [
        ("intake", b"phone:+861", b"a1"), ("intake", b"phone:+862", b"b1"), ("intake", b"phone:+861", b"a2")]
    assert head[0].headers == HEADERS
    assert again.pending_keys() == {b"phone:+861": 2, b"phone:+862": 1}
    again.delete([head[0].seq, head[2].seq])  # only what Kafka acknowledged
    assert [r.value for r in again.head(10)] == [b"b1"]
    assert again.head(0) == []
    again.close()


async def test_the_gateway_answers_503_when_neither_broker_nor_spool_can_take_a_message(
        db: Database, pg_url: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the spool's folder should be")
    dead = Broker()  # never started: nothing listens on its port
    settings = settings_for(pg_url, dead.bootstrap, spool_path=blocker / "spool.db",
                            spool_after_seconds=0.2)
    app = create_app(settings, roles=("gateway",))
    async with client_for(app) as gw:  # it starts: the broker might come back, the disk be fixed
        r = await gw.post("/channels/web", json={"phone": "13800138000", "text": "塘厦镇路灯坏了"})
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5"
        assert "spool" in r.json()["detail"]
        ready = await gw.get("/readyz")
        assert ready.status_code == 503
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_a_gateway_with_a_working_spool_is_ready_while_the_broker_is_down(
        db: Database, pg_url: str, tmp_path: Path) -> None:
    settings = settings_for(pg_url, Broker().bootstrap, spool_path=tmp_path / "spool.db")
    app = create_app(settings, roles=("gateway",))
    async with client_for(app) as gw:
        r = await gw.post("/channels/web", json={"phone": "13800138000", "text": "塘厦镇路灯坏了"})
        assert r.status_code == 202, r.text
        assert app.state.bus.pending == 1
        ready = await gw.get("/readyz")  # it can take messages durably: keep it in the pool
        assert ready.json()["spooled"] == 1
    assert [r.key for r in Spool(tmp_path / "spool.db").head(10)] == [b"phone:+8613800138000"]


