"""Working time on China's official calendar (holidays and make-up working weekends 调休).

Years come from, in order: a schedule the centre loaded (holiday file or the admin API, stored in
the database), the `chinesecalendar` package, and — for a year nobody knows yet — Monday to
Friday, which is flagged loudly (a warning once per year, `unknown_years()`, a metric).
Arithmetic is done in the city's time zone, day by day, so holiday edges and midnight are exact.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from prometheus_client import Gauge

log = logging.getLogger(__name__)

UNKNOWN_YEAR_GAUGE = Gauge(
    "hotline_calendar_unknown_year",
    "1 for a year whose official holidays are unknown, so deadlines assume Monday-Friday",
    ["year"],
)

# Search no further than this for working time: a calendar with no working day in ten years is
# a broken holiday file, not a deadline.
_MAX_DAYS = 3660


class CalendarError(ValueError):
    """A holiday file or business-hours setting that cannot be read."""


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: days off that would be weekdays, working weekend days."""

    year: int
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # make-up working days (调休上班)

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def to_document(self) -> dict[str, Any]:
        return {"holidays": sorted(d.isoformat() for d in self.holidays),
                "workdays": sorted(d.isoformat() for d in self.workdays)}


def _parse_days(year: int, items: Iterable[str], what: str) -> frozenset[date]:
    """Dates as 'YYYY-MM-DD' or inclusive ranges 'YYYY-MM-DD..YYYY-MM-DD'."""
    out: set[date] = set()
    for item in items:
        try:
            if ".." in item:
                a, b = (date.fromisoformat(p.strip()) for p in item.split("..", 1))
                if b < a:
                    raise ValueError("range ends before it starts")
                out.update(a + timedelta(days=i) for i in range((b - a).days + 1))
            else:
                out.add(date.fromisoformat(item.strip()))
        except (ValueError, AttributeError, TypeError) as exc:
            raise CalendarError(f"{what} entry {item!r} is not a date or a date range: {exc}") from exc
    stray = sorted(d.isoformat() for d in out if d.year != year)
    if stray:
        raise CalendarError(f"{what} for {year} lists dates of another year: {', '.join(stray)}")
    return frozenset(out)


def parse_year_schedule(year: int, doc: Mapping[str, Any]) -> YearSchedule:
    """`{"holidays": [...], "workdays": [...]}` → a checked schedule."""
    if not isinstance(doc, Mapping):
        raise CalendarError(f"the schedule for {year} must be an object with holidays and workdays")
    unknown = set(doc) - {"holidays", "workdays", "note", "source"}
    if unknown:
        raise CalendarError(f"the schedule for {year} has unknown keys: {', '.join(sorted(unknown))}")
    holidays = _parse_days(year, doc.get("holidays", []), "holidays")
    workdays = _parse_days(year, doc.get("workdays", []), "workdays")
    both = holidays & workdays
    if both:
        raise CalendarError(f"days both holiday and workday in {year}: "
                            + ", ".join(sorted(d.isoformat() for d in both)))
    if not holidays:
        raise CalendarError(f"the schedule for {year} lists no holidays; that is not an official calendar")
    return YearSchedule(year, holidays, workdays)


def parse_holiday_document(doc: Any) -> dict[int, YearSchedule]:
    """A holiday file: `{"2027": {"holidays": [...], "workdays": [...]}, ...}` (or `{"years": {...}}`)."""
    if isinstance(doc, Mapping) and "years" in doc:
        doc = doc["years"]
    if not isinstance(doc, Mapping) or not doc:
        raise CalendarError('a holiday file maps years to schedules: {"2027": {"holidays": [...], "workdays": [...]}}')
    out: dict[int, YearSchedule] = {}
    for key, value in doc.items():
        try:
            year = int(key)
        except ValueError as exc:
            raise CalendarError(f"{key!r} is not a year") from exc
        out[year] = parse_year_schedule(year, value)
    return out


def read_holiday_file(path: Path) -> dict[int, YearSchedule]:
    try:
        doc = json.loads(Path(path).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CalendarError(f"cannot read holiday file {path}: {exc}") from exc
    return parse_holiday_document(doc)


def parse_business_hours(spec: str | None) -> tuple[tuple[time, time], ...] | None:
    """'08:30-12:00,14:00-17:30' → intervals; None or '' = the whole day counts."""
    if not spec or not spec.strip():
        return None
    intervals: list[tuple[time, time]] = []
    for part in spec.split(","):
        try:
            a, b = part.strip().split("-", 1)
            start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
        except ValueError as exc:
            raise CalendarError(f"business hours {part!r}: expected HH:MM-HH:MM") from exc
        if end <= start:
            raise CalendarError(f"business hours {part!r} end before they start")
        if intervals and start < intervals[-1][1]:
            raise CalendarError(f"business hours {spec!r} must be in order and not overlap")
        intervals.append((start, end))
    return tuple(intervals)


@dataclass
class WorkCalendar:
    """Working days and hours in one time zone. Pure and synchronous: callers load years first."""

    timezone: str = "Asia/Shanghai"
    business_hours: tuple[tuple[time, time], ...] | None = None
    loaded: dict[int, YearSchedule] = field(default_factory=dict)
    _tz: ZoneInfo = field(init=False, repr=False)
    _package_years: dict[int, bool] = field(default_factory=dict, init=False, repr=False)
    _unknown: set[int] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._tz = ZoneInfo(self.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    # ---- which years are known ---------------------------------------------------------------

    def load(self, schedules: Mapping[int, YearSchedule]) -> None:
        """Install centre-maintained years (they win over the package for the same year)."""
        with self._lock:
            self.loaded.update(schedules)
            for year in schedules:
                if year in self._unknown:
                    self._unknown.discard(year)
                    UNKNOWN_YEAR_GAUGE.labels(year=str(year)).set(0)
                    log.info("official holidays for %d loaded; deadlines in %d are exact again", year, year)

    def _package_knows(self, year: int) -> bool:
        known = self._package_years.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:
                known = False
            self._package_years[year] = known
        return known

    def knows(self, year: int) -> bool:
        """True if the year's official schedule is known (loaded or in the package)."""
        return year in self.loaded or self._package_knows(year)

    def source_of(self, year: int) -> str:
        if year in self.loaded:
            return "loaded"
        return "chinesecalendar" if self._package_knows(year) else "fallback-mon-fri"

    def unknown_years(self) -> set[int]:
        """Years deadlines were computed for on the Monday–Friday guess since this process began."""
        with self._lock:
            return set(self._unknown)

    def _flag_unknown(self, year: int) -> None:
        with self._lock:
            if year in self._unknown:
                return
            self._unknown.add(year)
        UNKNOWN_YEAR_GAUGE.labels(year=str(year)).set(1)
        log.warning(
            "no official holiday schedule for %d (chinesecalendar %s knows up to its release; none "
            "loaded): deadlines in %d assume Monday-Friday and may be WRONG around holidays. Load "
            "it: `hotline holidays load FILE` or PUT /api/v1/admin/holidays/%d",
            year, getattr(chinese_calendar, "__version__", "?"), year, year,
        )

    # ---- days --------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        schedule = self.loaded.get(d.year)
        if schedule is not None:
            return schedule.is_working_day(d)
        if self._package_knows(d.year):
            return bool(chinese_calendar.is_workday(d))
        self._flag_unknown(d.year)
        return d.weekday() < 5

    def local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("naive datetime given to the calendar; use timezone-aware UTC")
        return instant.astimezone(self._tz)

    def _at(self, d: date, t: time | None) -> datetime:
        """An aware instant for a local date and time; None = 24:00 (the next day's midnight)."""
        if t is None:
            return datetime.combine(d + timedelta(days=1), time(0), tzinfo=self._tz)
        return datetime.combine(d, t, tzinfo=self._tz)

    def _windows(self, d: date) -> Iterator[tuple[datetime, datetime]]:
        """The working windows of one local date, in order (none on a day off)."""
        if not self.is_working_day(d):
            return
        if self.business_hours is None:
            yield self._at(d, time(0)), self._at(d, None)
            return
        for a, b in self.business_hours:
            yield self._at(d, a), self._at(d, b)

    @property
    def working_day_seconds(self) -> float:
        if self.business_hours is None:
            return 86400.0
        return sum((datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()
                   for a, b in self.business_hours)

    # ---- arithmetic --------------------------------------------------------------------------

    def add_working_time(self, start: datetime, seconds: float) -> datetime:
        """The instant when `seconds` of working time after `start` have passed (UTC).

        Ending exactly at the close of a working day gives that close (e.g. 24:00 = next midnight),
        never the start of the next working day: the midnight edge Zammad gets wrong.
        """
        if seconds < 0:
            raise ValueError("working time to add must not be negative")
        cursor = self.local(start)
        if seconds == 0:
            return cursor.astimezone(UTC)
        remaining = timedelta(seconds=seconds)
        d = cursor.date()
        for _ in range(_MAX_DAYS):
            for a, b in self._windows(d):
                seg_start = max(a, cursor)
                if seg_start >= b:
                    continue
                if b - seg_start >= remaining:
                    return (seg_start + remaining).astimezone(UTC)
                remaining -= b - seg_start
            d += timedelta(days=1)
        raise CalendarError(f"no working time found within {_MAX_DAYS} days of {start.isoformat()}")

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`days` full working days of working time after `start`."""
        return self.add_working_time(start, days * self.working_day_seconds)

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time in [start, end); 0 if end is not after start."""
        a0, b0 = self.local(start), self.local(end)
        if b0 <= a0:
            return 0.0
        total = 0.0
        d = a0.date()
        while d <= b0.date():
            for a, b in self._windows(d):
                lo, hi = max(a, a0), min(b, b0)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            d += timedelta(days=1)
        return total

    def end_of_local_day(self, instant: datetime) -> datetime:
        """24:00 of the local date of `instant` (the same-day deadline), UTC."""
        return self._at(self.local(instant).date(), None).astimezone(UTC)

    def next_working_day_start(self, instant: datetime) -> datetime:
        """The opening of the first working day whose opening is at or after `instant` (UTC)."""
        loc = self.local(instant)
        d = loc.date()
        for _ in range(_MAX_DAYS):
            for a, _b in self._windows(d):
                if a >= loc:
                    return a.astimezone(UTC)
                break  # only a day's opening counts, not its afternoon window
            d += timedelta(days=1)
        raise CalendarError(f"no working day within {_MAX_DAYS} days of {instant.isoformat()}")

    def end_of_next_working_day(self, instant: datetime) -> datetime:
        """The close of the first working day after the local date of `instant` (回访: the day after)."""
        d = self.local(instant).date() + timedelta(days=1)
        for _ in range(_MAX_DAYS):
            windows = list(self._windows(d))
            if windows:
                return windows[-1][1].astimezone(UTC)
            d += timedelta(days=1)
        raise CalendarError(f"no working day within {_MAX_DAYS} days of {instant.isoformat()}")


_calendar: WorkCalendar | None = None


def get_calendar() -> WorkCalendar:
    """The process's calendar, built from settings (time zone, business hours, holiday file)."""
    global _calendar
    if _calendar is None:
        from hotline.kit.settings import get_settings

        _calendar = calendar_from_settings(get_settings())
    return _calendar


def set_calendar(calendar: WorkCalendar | None) -> None:
    """Replace the process calendar (tests, or settings that changed)."""
    global _calendar
    _calendar = calendar


def calendar_from_settings(settings: Any) -> WorkCalendar:
    cal = WorkCalendar(settings.timezone, parse_business_hours(settings.business_hours))
    if settings.holiday_file:
        cal.load(read_holiday_file(settings.holiday_file))
    return cal


def unknown_years() -> set[int]:
    """Years the process calendar had to guess (Monday–Friday): for readiness and metrics."""
    return get_calendar().unknown_years()
