"""SLA policies as data: per ticket type × urgency tier, one clock per stage; versioned in the DB."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotline.sla.calendar import WorkCalendar


class Stage(StrEnum):
    DISPATCH = "dispatch"  # 派单: the centre sends it to a unit
    ACCEPT = "accept"  # 签收: the unit acknowledges it
    FIRST_CONTACT = "first_contact"  # 首次联系: the unit reaches the citizen
    REPLY = "reply"  # 办结回复: the unit's answer (resolution)
    CALLBACK = "callback"  # 回访: the centre asks the citizen if they are satisfied


# Units whose clocks run on working time (pauses and extensions shift them by working time).
WORKING_UNITS = frozenset({"working_days", "working_hours", "next_working_day"})


class ClockSpec(BaseModel):
    """How long a stage may take."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Literal["working_days", "working_hours", "hours", "same_day", "next_working_day"]
    amount: float | None = Field(None, gt=0, description="for working_days, working_hours and hours")

    @model_validator(mode="after")
    def _amount_when_needed(self) -> ClockSpec:
        needs = self.unit in ("working_days", "working_hours", "hours")
        if needs and self.amount is None:
            raise ValueError(f"a {self.unit} clock needs an amount")
        if not needs and self.amount is not None:
            raise ValueError(f"a {self.unit} clock takes no amount")
        return self

    @property
    def on_working_time(self) -> bool:
        return self.unit in WORKING_UNITS

    def due(self, cal: WorkCalendar, start: datetime) -> datetime:
        match self.unit:
            case "working_days":
                return cal.add_working_days(start, self.amount or 0)
            case "working_hours":
                return cal.add_working_time(start, (self.amount or 0) * 3600)
            case "hours":
                return start + timedelta(hours=self.amount or 0)
            case "same_day":
                return cal.end_of_local_day(start)
            case _:
                return cal.end_of_next_working_day(start)


class PolicyRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="ticket type, or * for any")
    urgency: str = Field(description="normal | utilities | emergency, or * for any")
    stages: dict[Stage, ClockSpec]


class LadderSpec(BaseModel):
    """The supervision ladder after a missed reply deadline (催办 → 催办通知书 → 通报 → 督办)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reprimand_after_working_days: float = Field(5, gt=0)  # 通报: after the reminder notice
    supervise_after_working_days: float = Field(5, gt=0)  # 督办: after the reprimand


class PolicyDocument(BaseModel):
    """A whole policy set; admins PUT one, and each PUT is a new version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = None
    warning_share: float | None = Field(None, gt=0, lt=1, description="default HOTLINE_SLA_WARNING_SHARE")
    return_within: ClockSpec = ClockSpec(unit="working_days", amount=2)  # 退单时限
    extension_max: ClockSpec = ClockSpec(unit="working_days", amount=10)  # 延期上限
    ladder: LadderSpec = LadderSpec()
    rules: list[PolicyRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _catch_all_and_no_duplicates(self) -> PolicyDocument:
        keys = [(r.type, r.urgency) for r in self.rules]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"rules repeat type×urgency {sorted(dupes)}")
        if ("*", "*") not in keys:
            raise ValueError('rules need a catch-all {"type": "*", "urgency": "*"}')
        catch_all = next(r for r in self.rules if (r.type, r.urgency) == ("*", "*"))
        missing = set(Stage) - set(catch_all.stages)
        if missing:
            raise ValueError(f"the catch-all rule must set every stage; missing {sorted(missing)}")
        if self.extension_max.unit != "working_days":
            raise ValueError("extension_max is counted in working_days")
        return self

    def rule_for(self, type_: str, urgency: str) -> PolicyRule:
        """The most specific rule: urgency tiers beat types (an emergency complaint is an emergency)."""
        by_key = {(r.type, r.urgency): r for r in self.rules}
        for key in ((type_, urgency), ("*", urgency), (type_, "*"), ("*", "*")):
            if key in by_key:
                return by_key[key]
        raise AssertionError("unreachable: the catch-all rule is validated")

    def clock_for(self, type_: str, urgency: str, stage: Stage) -> ClockSpec:
        """A stage missing from the matching rule falls back to the catch-all's."""
        rule = self.rule_for(type_, urgency)
        if stage in rule.stages:
            return rule.stages[stage]
        return self.rule_for("*", "*").stages[stage]


def default_policy(path: Path | None = None) -> PolicyDocument:
    """The packaged defaults (or the file HOTLINE_SLA_POLICY_FILE names): version 0."""
    if path is not None:
        text = Path(path).read_text("utf-8")
    else:
        text = resources.files("hotline.sla").joinpath("data/policies.json").read_text("utf-8")
    return PolicyDocument.model_validate(json.loads(text))
