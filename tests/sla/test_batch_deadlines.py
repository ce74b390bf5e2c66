"""A router batch's deadlines, computed per run of arrival instants, are exactly those computed
one ticket at a time: whole days and business hours, a zone with summer time, holidays, runs
across midnight, weekends and the close of business."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from hotline.kit.settings import Settings
from hotline.sla.calendar import calendar_from_settings
from hotline.sla.policies import ClockSpec
from hotline.sla.service import _deadlines, _warn_at

SPECS = [ClockSpec(unit="working_days", amount=1), ClockSpec(unit="working_days", amount=5),
         ClockSpec(unit="working_days", amount=0.5), ClockSpec(unit="working_hours", amount=2),
         ClockSpec(unit="working_hours", amount=30), ClockSpec(unit="hours", amount=4),
         ClockSpec(unit="same_day"), ClockSpec(unit="next_working_day")]


@pytest.mark.parametrize("business_hours", [None, "08:30-12:00,14:00-17:30"])
@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "Europe/Berlin"])
def test_batch_deadlines_equal_one_by_one(business_hours: str | None, timezone: str) -> None:
    cal = calendar_from_settings(Settings(business_hours=business_hours, timezone=timezone))
    rnd = random.Random(7)
    for trial in range(60):
        base = datetime(2026, rnd.randint(1, 12), rnd.randint(1, 28), tzinfo=UTC) + timedelta(
            seconds=rnd.randint(0, 86400))
        if trial % 4 == 0:  # just before a close, a midnight (local) or an opening
            base = base.replace(hour=rnd.choice([15, 16, 3, 4, 9, 21]), minute=59, second=59)
        width = rnd.choice([1, 10, 3600, 86400, 4 * 86400])
        starts = sorted({base + timedelta(seconds=rnd.uniform(0, width)) for _ in range(rnd.choice([3, 40]))})
        for spec in SPECS:
            batch = _deadlines(cal, spec, 0.8, starts)
            for start in starts:
                due = spec.due(cal, start)
                assert batch[start] == (due, _warn_at(cal, spec, start, due, 0.8)), (spec, start)
