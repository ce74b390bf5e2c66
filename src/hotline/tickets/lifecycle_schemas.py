"""Request and response bodies of the lifecycle actions (POST /api/v1/tickets/{tracking_number}/{action})."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.tickets.schemas import TicketDetail

Text = Field(min_length=1, max_length=20_000)


class DispatchIn(BaseModel):
    department_code: str = Field(description="the lead unit (主办单位), e.g. `env`, `town-tangxia`")
    co_departments: list[str] | None = Field(
        None, description="co-handling units (协办单位); on re-dispatch, omit to keep the current ones")
    reason: str | None = None


class NoteIn(BaseModel):
    note: str | None = None


class ProgressIn(BaseModel):
    text: str = Text
    contacted_citizen: bool = Field(False, description="the unit has reached the citizen (first contact)")


class ReplyIn(BaseModel):
    text: str = Text
    override_co_handlers: bool = Field(
        False, description="supervisors and admins only: reply although co-handling units have not")


class ReturnIn(BaseModel):
    reason_code: str = Field(description="one of GET /api/v1/lifecycle `return_reasons`")
    note: str | None = None


class ResolveReturnIn(BaseModel):
    decision: Literal["redispatch", "dispute"]
    department_code: str | None = Field(None, description="the right unit, when re-dispatching")
    co_departments: list[str] | None = None
    note: str | None = None


class ExtensionIn(BaseModel):
    days: int = Field(ge=1, description="working days asked for (at most HOTLINE_EXTENSION_MAX_WORKING_DAYS)")
    reason: str = Text


class ExtensionDecisionIn(BaseModel):
    approve: bool
    days: int | None = Field(None, ge=1, description="working days granted; default: all that were asked")
    note: str | None = None


class CallbackIn(BaseModel):
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    note: str | None = None


class MergeIn(BaseModel):
    into: str = Field(description="tracking number of the ticket that carries on")
    note: str | None = None


class HandOffIn(BaseModel):
    line: Literal["110", "119", "120", "122"]
    note: str | None = None


class RefuseIn(BaseModel):
    reason_code: str = Field(description="one of GET /api/v1/lifecycle `refusal_reasons`")
    note: str | None = None


class AnswerIn(BaseModel):
    answer: str = Text
    article_id: int | None = Field(None, description="the knowledge-base article the answer rests on")


class ReclassifyIn(BaseModel):
    type: str | None = None
    topic: str | None = None
    urgency: str | None = None
    reason: str | None = None


class TextIn(BaseModel):
    text: str = Text


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    department_code: str
    role: str
    state: str
    assigned_at: datetime
    accepted_at: datetime | None
    replied_at: datetime | None
    reply_text: str | None


class LifecycleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    dispatched_at: datetime | None
    accepted_at: datetime | None
    first_contact_at: datetime | None
    replied_at: datetime | None
    reply_text: str | None
    return_due_at: datetime | None
    returned_at: datetime | None
    return_reason: str | None
    return_count: int
    extension_state: str | None
    extension_requested_days: int | None
    extension_days: int | None
    extension_reason: str | None
    satisfaction: str | None
    callback_at: datetime | None
    reopen_count: int
    merged_into: str | None = None
    handed_off_to: str | None
    refusal_reason: str | None
    closed_at: datetime | None


class TicketLifecycle(BaseModel):
    tracking_number: str
    status: str
    lifecycle: LifecycleOut
    assignments: list[AssignmentOut]
    allowed_actions: list[str] = Field(description="what the caller's role may do from this state")


class TicketActed(TicketDetail):
    """The ticket after the action, with its timeline, units and what may come next."""

    lifecycle: LifecycleOut
    assignments: list[AssignmentOut]
    allowed_actions: list[str]


class ActionOut(BaseModel):
    name: str
    roles: list[str]
    moves: dict[str, list[str]]
    help: str


class MachineOut(BaseModel):
    states: list[str]
    terminal: list[str]
    actions: list[ActionOut]
    return_reasons: dict[str, str]
    refusal_reasons: dict[str, str]
    hand_off_lines: dict[str, str]
    satisfaction: list[str]
