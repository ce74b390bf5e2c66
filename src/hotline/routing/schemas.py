"""What the router decides about one message, with its reasons."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RoutingDecision(BaseModel):
    type: str = Field(description="consultation | help | complaint | report | suggestion | praise | other")
    type_reason: str | None = None
    topic: str | None = None
    town_code: str | None = None
    urgency: str = "normal"  # normal | utilities | emergency
    department_code: str | None = Field(None, description="lead unit; None = manual dispatch queue")
    co_department_codes: list[str] = Field(default_factory=list)
    confidence: float = 0.0
    rule: str | None = Field(None, description="the catalogue rule or model that decided")
    reasons: list[str] = Field(default_factory=list)
    suggestions: list[dict[str, object]] = Field(default_factory=list)
    # Smart dispatch (routing/engine.py): what it saw and which data decided.
    topic_confidence: float | None = None
    place: dict[str, object] | None = Field(None, description="found | ambiguous | none, with candidates")
    handoff: dict[str, object] | None = Field(None, description="emergency hand-off: 110/119/120/122 and why")
    refusal: dict[str, str] | None = Field(None, description="flagged for refusal (不予受理) and why")
    catalogue_version: int | None = Field(None, description="the dispatch catalogue version used")
    models: str | None = Field(None, description="which learned models were used, or rules alone")
