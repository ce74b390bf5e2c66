"""Unit KPIs per month (the ranking Dongguan publishes) and the anonymised open-data summary.

Counted over the reply clocks a unit was given in the month (local time), so a ticket returned
by one unit and re-dispatched to another counts once for each, as a return for the first:
- received: tickets given to the unit (not counting reopened rounds)
- handled: received minus returned (退单)
- response rate: handled tickets accepted (签收) within the accept deadline / handled
- resolution rate: handled tickets replied (办结) / handled
- on-time rate: replies on or before the (possibly extended) deadline / replies
- satisfaction rate: satisfied + basically satisfied / rated callbacks (回访)
- returns, extensions (approved), reopens (重办)
- score: the mean of the rates that exist; the ranking sorts by it.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.kit.errors import HotlineError
from hotline.sla import repository
from hotline.sla.service import calendar

RATES = ("response_rate", "resolution_rate", "on_time_rate", "satisfaction_rate")
CSV_COLUMNS = ("rank", "unit", "name", "kind", "received", "handled", "accepted_on_time", "replied",
               "replied_on_time", "returns", "extensions", "reopens", "rated", "satisfied", *RATES, "score")


class InvalidMonth(HotlineError):
    status_code = 422
    title = "Invalid month"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-10' → [1 Oct 00:00, 1 Nov 00:00) in the city's time zone, as aware datetimes."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InvalidMonth(f"month must look like 2026-10, not {month!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    tz = calendar().tz
    start = datetime(y, mo, 1, tzinfo=tz)
    end = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=tz)
    return start, end


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


async def unit_kpis(session: AsyncSession, month: str, kind: str | None = None) -> list[dict[str, Any]]:
    """Every unit that was given tickets in the month, ranked (1 = best)."""
    start, end = month_bounds(month)
    rows = await repository.unit_kpi_rows(session, start, end)
    out = []
    for r in rows:
        if kind and r["kind"] != kind:
            continue
        c = {k: int(r[k] or 0) for k in ("received", "handled", "accepted_on_time", "replied",
                                          "replied_on_time", "returns", "extensions", "reopens",
                                          "satisfied", "rated")}
        item: dict[str, Any] = {"unit": r["unit"], "name": r["name"], "kind": r["kind"], **c,
                                "response_rate": _rate(c["accepted_on_time"], c["handled"]),
                                "resolution_rate": _rate(c["replied"], c["handled"]),
                                "on_time_rate": _rate(c["replied_on_time"], c["replied"]),
                                "satisfaction_rate": _rate(c["satisfied"], c["rated"])}
        rates = [item[k] for k in RATES if item[k] is not None]
        item["score"] = round(sum(rates) / len(rates), 4) if rates else None
        out.append(item)
    out.sort(key=lambda i: (-(i["score"] if i["score"] is not None else -1), -i["received"], i["unit"]))
    for n, item in enumerate(out, 1):
        item["rank"] = n
    return out


def to_csv(items: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for item in items:
        w.writerow({k: ("" if item.get(k) is None else item[k]) for k in CSV_COLUMNS})
    # A byte-order mark so Excel (what the centre's staff open it with) reads the Chinese names.
    return "\ufeff" + buf.getvalue()


async def public_summary(session: AsyncSession, month: str) -> dict[str, Any]:
    """Open data: how many tickets of each type, topic and town, and how many were replied on time.

    Counts only — no text, no names, no units' internal figures beyond the on-time rate.
    """
    start, end = month_bounds(month)
    counts = await repository.public_counts(session, start, end)
    return {"month": month, "total": counts["total"], "by_type": counts["by_type"],
            "by_topic": counts["by_topic"], "by_town": counts["by_town"],
            "replied": counts["replied"],
            "on_time_rate": _rate(counts["replied_on_time"], counts["replied"])}
