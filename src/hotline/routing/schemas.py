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
