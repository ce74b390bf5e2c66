"""SLA over HTTP: holidays and policies (admin), unit contacts, KPIs, the public summary."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from hotline.api.deps import SessionDep
from hotline.auth.deps import AdminOnly, SupervisorRole, TicketReader
from hotline.departments import repository as departments
from hotline.kit.errors import Conflict, NotFound
from hotline.sla import kpis, repository, service
from hotline.sla.policies import PolicyDocument
from hotline.tickets import actions

router = APIRouter(tags=["sla"])


class HolidaySchedule(BaseModel):
    holidays: list[str] = Field(description="dates off, 'YYYY-MM-DD' or ranges 'YYYY-MM-DD..YYYY-MM-DD'")
    workdays: list[str] = Field(default_factory=list, description="make-up working days (调休)")
    source: str | None = Field(None, description="where it comes from, e.g. the State Council notice")


@router.get("/api/v1/admin/holidays")
async def list_holidays(session: SessionDep, _: SupervisorRole) -> dict[str, Any]:
    """Where each year's working days come from; `unknown_years` were guessed Monday–Friday."""
    await service.refresh(session, force=True)
    this_year = date.today().year
    loaded = {r.year: {"loaded_by": r.loaded_by, "loaded_at": r.loaded_at, "source": r.source}
              for r in await repository.holiday_years(session)}
    years = sorted({this_year - 1, this_year, this_year + 1, *loaded})
    return {**service.calendar_status(years), "loaded": loaded}


@router.put("/api/v1/admin/holidays/{year}")
async def put_holidays(year: int, body: HolidaySchedule, session: SessionDep,
                       principal: AdminOnly) -> dict[str, Any]:
    """Load one year's official schedule (holidays and make-up working days); replaces that year."""
    doc = {"holidays": body.holidays, "workdays": body.workdays}
    moved = await service.load_holiday_year(session, year, doc, principal.actor, body.source)
    return {"year": year, "source": service.calendar().source_of(year),
            **service.calendar().loaded[year].to_document(), "deadlines_recalculated": moved}


@router.get("/api/v1/admin/sla-policies")
async def get_policies(session: SessionDep, _: SupervisorRole) -> dict[str, Any]:
    """The SLA policy in force (version 0 = the packaged defaults) and the earlier versions."""
    version, doc = await service.active_policy(session)
    history = [{"version": r.id, "created_by": r.created_by, "created_at": r.created_at}
               for r in await repository.policy_versions(session)]
    return {"version": version, "document": doc.model_dump(mode="json", exclude_none=True), "versions": history}


@router.put("/api/v1/admin/sla-policies")
async def put_policies(body: PolicyDocument, session: SessionDep, principal: AdminOnly) -> dict[str, Any]:
    """Put a new policy set in force (a new version); deadlines already set keep their version."""
    version = await service.put_policy(session, body, principal.actor)
    return {"version": version, "document": body.model_dump(mode="json", exclude_none=True)}


class UnitContactIn(BaseModel):
    email: str | None = Field(None, max_length=200)
    sms_phone: str | None = Field(None, max_length=32)
    webhook_url: str | None = Field(None, max_length=500, pattern=r"^https?://")
    webhook_secret: str | None = Field(None, max_length=500)


@router.put("/api/v1/admin/units/{code}/contacts")
async def put_unit_contacts(code: str, body: UnitContactIn, session: SessionDep, _: AdminOnly) -> dict[str, Any]:
    """Where a unit's reminders (催办, 通报, 督办) go: email, SMS, webhook (signed with the secret)."""
    if await departments.get_by_code(session, code) is None:
        raise NotFound(f"no unit {code} in the directory")
    row = await repository.put_unit_contact(session, code, body.model_dump())
    return {"unit": code, "email": row.email, "sms_phone": row.sms_phone, "webhook_url": row.webhook_url,
            "webhook_signed": bool(row.webhook_secret)}


Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, in the city's time zone")]


@router.get("/api/v1/kpis")
async def unit_kpis(session: SessionDep, _: SupervisorRole, month: Month,
                    kind: str | None = Query(None, description="town | street | park | city_department")
                    ) -> dict[str, Any]:
    """Units ranked by the month's response, resolution, on-time and satisfaction rates."""
    return {"month": month, "items": await kpis.unit_kpis(session, month, kind)}


@router.get("/api/v1/kpis.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the ranking as CSV"}})
async def unit_kpis_csv(session: SessionDep, _: SupervisorRole, month: Month,
                        kind: str | None = None) -> Response:
    """The same ranking as CSV (UTF-8 with BOM, for spreadsheets)."""
    body = kpis.to_csv(await kpis.unit_kpis(session, month, kind))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="hotline-kpis-{month}.csv"'})


@router.get("/api/v1/public/summary")
async def public_summary(session: SessionDep, month: Month) -> dict[str, Any]:
    """Open data for the month: counts by type, topic and town, and the on-time rate. No personal data."""
    return await kpis.public_summary(session, month)


class PauseIn(BaseModel):
    reason: str | None = Field(None, max_length=500, description="what the citizen is asked for (补充材料 …)")


@router.get("/api/v1/tickets/{tracking_number}/sla")
async def ticket_sla(tracking_number: str, session: SessionDep, principal: TicketReader) -> dict[str, Any]:
    """A ticket's clocks (every stage and round) and the supervision steps taken on it."""
    ticket = await actions.load(session, principal, tracking_number)
    clocks = await service.clocks(session, ticket)
    steps = await repository.steps_of(session, ticket.id)
    return {
        "tracking_number": tracking_number,
        "paused_at": ticket.sla_paused_at, "paused_seconds": ticket.sla_paused_seconds,
        "return_due_at": ticket.return_due_at,
        "clocks": [{"stage": c.stage, "round": c.round, "unit": c.department_code, "started_at": c.started_at,
                    "due_at": c.due_at, "warn_at": c.warn_at, "warned_at": c.warned_at,
                    "breached_at": c.breached_at, "met_at": c.met_at, "outcome": c.outcome,
                    "extensions": c.extensions, "extended_days": c.extended_days,
                    "policy_version": c.policy_version} for c in clocks],
        "supervision": [{"step": x.step, "unit": x.department_code, "scheduled_at": x.scheduled_at,
                         "taken_at": x.created_at} for x in steps],
    }


@router.post("/api/v1/tickets/{tracking_number}/sla/pause")
async def pause(tracking_number: str, session: SessionDep, principal: TicketReader,
                body: PauseIn | None = None) -> dict[str, Any]:
    """Waiting on the citizen: the clocks stop (no warnings, no breaches) until resumed."""
    ticket = await actions.load(session, principal, tracking_number)
    if ticket.sla_paused_at is not None:
        raise Conflict(f"the clocks of {tracking_number} are already paused since {ticket.sla_paused_at.isoformat()}")
    await service.pause_clocks(session, ticket)
    await actions.record_event(session, ticket, principal, "sla_paused", reason=body.reason if body else None)
    return {"tracking_number": tracking_number, "paused_at": ticket.sla_paused_at}


@router.post("/api/v1/tickets/{tracking_number}/sla/resume")
async def resume(tracking_number: str, session: SessionDep, principal: TicketReader) -> dict[str, Any]:
    """The citizen answered: every running deadline gets back the working time it had left."""
    ticket = await actions.load(session, principal, tracking_number)
    if ticket.sla_paused_at is None:
        raise Conflict(f"the clocks of {tracking_number} are not paused")
    moved = await service.resume_clocks(session, ticket)
    await actions.record_event(session, ticket, principal, "sla_resumed",
                               data={k: v.isoformat() for k, v in moved.items()})
    return {"tracking_number": tracking_number, "deadlines": moved}
