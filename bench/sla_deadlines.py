"""How long the SLA side adds to the router: deadline computation per ticket (5 clocks each).

    .venv/bin/python bench/sla_deadlines.py
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.sla.calendar import WorkCalendar, parse_business_hours
from hotline.sla.policies import Stage, default_policy
from hotline.sla.service import Moment, _new_clock


def run(cal: WorkCalendar, n: int) -> float:
    policy = (0, default_policy())
    start = datetime(2026, 9, 20, 8, tzinfo=ZoneInfo("Asia/Shanghai"))
    types = ("complaint", "consultation", "help", "report", "suggestion", "praise")
    t0 = time.perf_counter()
    for i in range(n):
        at = start + timedelta(minutes=17 * i)  # spreads over National Day and into 2027
        for stage in Stage:
            _new_clock(cal, policy, 0.8, ticket_id=i, type_=types[i % len(types)], urgency="normal",
                       department_code="env", stage=stage, round_=1, moment=Moment.DISPATCHED, start=at, now=at)
    return (time.perf_counter() - t0) / n * 1e6


if __name__ == "__main__":
    for label, hours in (("whole working days", None), ("business hours 08:30-12:00,14:00-17:30",
                                                         "08:30-12:00,14:00-17:30")):
        cal = WorkCalendar("Asia/Shanghai", parse_business_hours(hours))
        run(cal, 200)  # warm the per-year tables
        print(f"{label}: {run(cal, 5000):.0f} µs per ticket (5 stage deadlines + warning times)")
