"""Self-service at intake (自助答复): answer clear consultations from the knowledge base at once,
let the citizen ask for a person ("回复 1 转人工"), and answer status look-ups ("查询 DG…").

Runs inside the router's unit of work, around `tickets.service.ingest`:
`before_ingest` takes status look-ups and escalations out of (or rewrites them in) the batch,
`wrap_route` marks confident consultations so they are not dispatched, and `after_ingest`
closes those as answered directly (直接办结) with the article version and replies to the citizen.
Wrong self-service answers are worse than none: the threshold is chosen for precision ≥ 0.95
(bench/knowledge_bench.py) and can be switched off (HOTLINE_SELF_SERVICE_THRESHOLD unset).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal, Role
from hotline.intake.schema import IntakeMessage
from hotline.kit.clock import utcnow
from hotline.knowledge import service as kb
from hotline.knowledge.search import BM25Index
from hotline.routing.schemas import RoutingDecision
from hotline.tickets import repository as tickets_repo
from hotline.tickets.public import public_status
from hotline.tickets.service import IngestOutcome, RouteBatch

log = logging.getLogger(__name__)

SELF_SERVICE = Principal(None, "self-service", Role.SYSTEM)
ESCALATE_WORDS = frozenset({"1", "１", "转人工", "人工", "人工服务"})
ESCALATION_WINDOW = timedelta(hours=24)
STATUS_QUERY = re.compile(r"^\s*(?:查询|查|进度|状态)?\s*[:：]?\s*(DG[0-9A-Z]{12})\s*$", re.IGNORECASE)
PERSON_HINT = "\n（如需人工服务，请回复 1 转人工）"



def public_status_text(tracking_number: str, status: str | None) -> str:
    if status is None:
        return f"未找到编号为 {tracking_number} 的工单，请核对编号。"
    return f"您的工单 {tracking_number} 当前状态：{public_status(status)}。"


def reply_to_sender(session: AsyncSession, m: IntakeMessage, text: str, purpose: str) -> str | None:
    """Queue a message back to whoever sent `m`, on their channel (SMS when only a phone is known)."""
    from hotline.notify.outbox import enqueue
    from hotline.sla.notifications import SMS, WECHAT, WEIBO

    c = m.citizen
    if m.channel.value == "wechat" and c.identity_kind.value == "wechat_openid":
        kind, to = WECHAT, c.identity
    elif m.channel.value == "weibo" and c.identity_kind.value == "weibo_uid":
        kind, to = WEIBO, c.identity
    elif c.phone:
        kind, to = SMS, c.phone
    else:
        return None
    enqueue(session, kind, {"purpose": purpose, "text": text, "to": to}, key=f"sender:{to}", destination=to)
    return kind


def wrap_route(route: RouteBatch, index: BM25Index, answers: dict[int, tuple[int, int, str]],
               threshold: float, skip: frozenset[str] = frozenset()) -> RouteBatch:
    """A route function that keeps a confidently answerable consultation out of dispatch."""

    def routed(texts: list[str], *rest: object) -> list[RoutingDecision]:
        decisions = route(texts, *rest)  # type: ignore[call-arg, arg-type]
        for text, d in zip(texts, decisions, strict=True):
            if d.type != "consultation" or d.urgency == "emergency" or any(s in text for s in skip):
                continue
            hits = index.search(text, 2)
            confidence = BM25Index.confidence(hits)
            if hits and confidence >= threshold:
                article_id, version, _ = answers[hits[0].doc_id]
                d.reasons.append(f"知识库文章 {article_id} v{version} 可直接答复 (confidence {confidence:.2f})")
                d.suggestions.insert(0, {"self_service": {"article_id": article_id, "version": version,
                                                          "confidence": round(confidence, 4)}})
                d.department_code = None
                d.co_department_codes = []
        return decisions

    return routed


async def before_ingest(session: AsyncSession, messages: Sequence[IntakeMessage]) -> tuple[list[IntakeMessage], list[IngestOutcome]]:
    """Answer status look-ups (no ticket) and turn "1" after a self-served answer into the question again."""
    keep: list[IntakeMessage] = []
    done: list[IngestOutcome] = []
    for m in messages:
        text = (m.text or "").strip()
        match = STATUS_QUERY.match(text)
        if match:
            tn = match.group(1).upper()
            ticket = await tickets_repo.get_by_tracking_number(session, tn)
            seen = await tickets_repo.seen_intake(session, [(m.channel.value, m.external_id)])
            if not seen:
                await tickets_repo.insert_intake(session, [{
                    "channel": m.channel.value, "external_id": m.external_id, "ticket_id": None,
                    "schema_version": m.schema_version, "payload": m.model_dump(mode="json"),
                    "received_at": m.received_at, "created_at": utcnow()}])
                reply_to_sender(session, m, public_status_text(tn, ticket.status if ticket else None),
                                "status_lookup")
            done.append(IngestOutcome(m.channel.value, m.external_id, m.tracking_number, False))
            continue
        if text in ESCALATE_WORDS:
            previous = await tickets_repo.latest_self_served(session, m.citizen.identity_kind.value,
                                                             m.citizen.identity, utcnow() - ESCALATION_WINDOW)
            if previous is not None:
                m = m.model_copy(update={
                    "text": previous.text, "subject": previous.subject,
                    "meta": {**m.meta, "escalated_from": previous.tracking_number}})
        keep.append(m)
    return keep, done


async def after_ingest(session: AsyncSession, outcomes: Sequence[IngestOutcome],
                       new_tickets: Sequence[dict[str, Any]] | None = None) -> int:
    """Close the tickets the knowledge base answers, and send the answer to the citizen.

    `new_tickets`: the rows the batch inserted; only those routing marked for self-service are
    loaded then (not every new ticket)."""
    from hotline.tickets.actions import answer_directly

    created = [o.tracking_number for o in outcomes if o.created]
    if new_tickets is not None:
        marked = {r["tracking_number"] for r in new_tickets
                  if any("self_service" in s for s in (r["routing"] or {}).get("suggestions", []))}
        created = [tn for tn in created if tn in marked]
    if not created:
        return 0
    # One query per batch: a self-served ticket waits in pending_dispatch until it is answered here.
    n = 0
    for ticket in await tickets_repo.by_tracking_numbers(session, created, status="pending_dispatch"):
        marks = [s["self_service"] for s in (ticket.routing or {}).get("suggestions", []) if "self_service" in s]
        if not marks:
            continue
        article = await kb.get(session, SELF_SERVICE, marks[0]["article_id"], marks[0]["version"])
        # The lifecycle sends the recorded answer to the citizen on their channel (sla/hooks.py),
        # so the way to a person is part of the answer itself.
        await answer_directly(session, SELF_SERVICE, ticket.tracking_number, f"{article.answer}{PERSON_HINT}",
                              article_id=article.id)
        n += 1
    return n


async def prepare(session: AsyncSession, route: RouteBatch, threshold: float | None,
                  messages: Sequence[IntakeMessage]) -> RouteBatch:
    """The route function for this batch: with self-service when it is on and articles exist.

    A message that escalates to a person ("1") is never answered by the machine again.
    """
    if threshold is None:
        return route
    cached = await kb.INDEX.get(session)
    if not len(cached.index):
        return route
    answers = {aid: (aid, v.version, v.answer) for aid, v in cached.versions.items()}
    skip = frozenset(m.text for m in messages if m.meta.get("escalated_from") and m.text)
    return wrap_route(route, cached.index, answers, threshold, skip)
