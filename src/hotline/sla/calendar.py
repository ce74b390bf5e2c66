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
from bisect import bisect_left
from collections.abc import Iterable, Mapping
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
_DAY = timedelta(days=1)


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
    _days: dict[date, bool] = field(default_factory=dict, init=False, repr=False)
    _ordinals: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False)

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
            self._days, self._ordinals = {}, {}
            for year in schedules:
                UNKNOWN_YEAR_GAUGE.labels(year=str(year)).set(0)
                if year in self._unknown:
                    self._unknown.discard(year)
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
        # Cached: chinesecalendar scans its tables on every call, and the router asks thousands
        # of times per batch.
        known = self._days.get(d)
        if known is not None:
            return known
        schedule = self.loaded.get(d.year)
        if schedule is not None:
            known = schedule.is_working_day(d)
        elif self._package_knows(d.year):
            known = bool(chinese_calendar.is_workday(d))
        else:
            self._flag_unknown(d.year)
            known = d.weekday() < 5
        self._days[d] = known
        return known

    def local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("naive datetime given to the calendar; use timezone-aware UTC")
        return instant.astimezone(self._tz)

    # Internally the arithmetic runs on naive local wall-clock time (fast to compare; a working
    # day is a calendar day on the wall clock) and converts back to UTC at the end.

    def _wall(self, instant: datetime) -> datetime:
        return self.local(instant).replace(tzinfo=None)

    def _utc(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=self._tz).astimezone(UTC)

    def _windows(self, d: date) -> list[tuple[datetime, datetime]]:
        """The working windows of one local date, in order (none on a day off), naive local."""
        if not self.is_working_day(d):
            return []
        midnight = datetime(d.year, d.month, d.day)
        if self.business_hours is None:
            return [(midnight, midnight + _DAY)]
        return [(midnight + a, midnight + b) for a, b in self._offsets]

    @property
    def _offsets(self) -> list[tuple[timedelta, timedelta]]:
        return [(timedelta(hours=a.hour, minutes=a.minute, seconds=a.second),
                 timedelta(hours=b.hour, minutes=b.minute, seconds=b.second))
                for a, b in (self.business_hours or ())]

    @property
    def working_day_seconds(self) -> float:
        if self.business_hours is None:
            return 86400.0
        return sum((b - a).total_seconds() for a, b in self._offsets)

    # ---- arithmetic --------------------------------------------------------------------------

    def add_working_time(self, start: datetime, seconds: float) -> datetime:
        """The instant when `seconds` of working time after `start` have passed (UTC).

        Ending exactly at the close of a working day gives that close (e.g. 24:00 = next midnight),
        never the start of the next working day: the midnight edge Zammad gets wrong.
        """
        if seconds < 0:
            raise ValueError("working time to add must not be negative")
        cursor = self._wall(start)
        if seconds == 0:
            return self._utc(cursor)
        remaining = timedelta(seconds=seconds)
        d = cursor.date()
        if self.business_hours is None:
            return self._utc(self._add_whole_days(cursor, remaining))
        for _ in range(_MAX_DAYS):
            for a, b in self._windows(d):
                seg_start = max(cursor, a)
                if seg_start >= b:
                    continue
                if b - seg_start >= remaining:
                    return self._utc(seg_start + remaining)
                remaining -= b - seg_start
            d += _DAY
        raise CalendarError(f"no working time found within {_MAX_DAYS} days of {start.isoformat()}")

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`days` full working days of working time after `start`."""
        return self.add_working_time(start, days * self.working_day_seconds)

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time in [start, end); 0 if end is not after start."""
        a0, b0 = self._wall(start), self._wall(end)
        if b0 <= a0:
            return 0.0
        if self.business_hours is None:
            return self._between_whole_days(a0, b0)
        total = timedelta()
        d, last = a0.date(), b0.date()
        while d <= last:
            for a, b in self._windows(d):
                lo, hi = max(a0, a), min(b0, b)
                if hi > lo:
                    total += hi - lo
            d += _DAY
        return total.total_seconds()

    # ---- whole-day calendars: working days counted with per-year sorted ordinals and bisect ---

    def _year_ordinals(self, year: int) -> list[int]:
        days = self._ordinals.get(year)
        if days is None:
            first = date(year, 1, 1).toordinal()
            days = [o for o in range(first, date(year + 1, 1, 1).toordinal())
                    if self.is_working_day(date.fromordinal(o))]
            self._ordinals[year] = days
        return days

    def _nth_working_day(self, d: date, n: int) -> date:
        """The n-th working day (n ≥ 1) on or after `d`."""
        year, o = d.year, d.toordinal()
        for _ in range(_MAX_DAYS // 365 + 1):
            days = self._year_ordinals(year)
            i = bisect_left(days, o)
            if i + n - 1 < len(days):
                return date.fromordinal(days[i + n - 1])
            n -= len(days) - i
            year, o = year + 1, date(year + 1, 1, 1).toordinal()
        raise CalendarError(f"no working time found within {_MAX_DAYS} days of {d.isoformat()}")

    def _working_days_in(self, d1: date, d2: date) -> int:
        """How many working days in [d1, d2)."""
        n = 0
        for year in range(d1.year, d2.year + 1):
            days = self._year_ordinals(year)
            n += bisect_left(days, d2.toordinal()) - bisect_left(days, d1.toordinal())
        return n

    def _add_whole_days(self, cursor: datetime, remaining: timedelta) -> datetime:
        d = cursor.date()
        if self.is_working_day(d):
            left_today = datetime(d.year, d.month, d.day) + _DAY - cursor
            if remaining <= left_today:
                return cursor + remaining
            remaining -= left_today
        d += _DAY
        whole, rest = divmod(remaining, _DAY)
        if rest:
            day = self._nth_working_day(d, whole + 1)
            return datetime(day.year, day.month, day.day) + rest
        day = self._nth_working_day(d, whole)  # ends exactly at 24:00 of that day
        return datetime(day.year, day.month, day.day) + _DAY

    def _between_whole_days(self, a0: datetime, b0: datetime) -> float:
        da, db = a0.date(), b0.date()
        if da == db:
            return (b0 - a0).total_seconds() if self.is_working_day(da) else 0.0
        total = timedelta()
        if self.is_working_day(da):
            total += datetime(da.year, da.month, da.day) + _DAY - a0
        total += _DAY * self._working_days_in(da + _DAY, db)
        if self.is_working_day(db):
            total += b0 - datetime(db.year, db.month, db.day)
        return total.total_seconds()

    def end_of_local_day(self, instant: datetime) -> datetime:
        """24:00 of the local date of `instant` (the same-day deadline), UTC."""
        d = self._wall(instant).date()
        return self._utc(datetime(d.year, d.month, d.day) + _DAY)

    def next_working_day_start(self, instant: datetime) -> datetime:
        """The opening of the first working day whose opening is at or after `instant` (UTC)."""
        loc = self._wall(instant)
        d = loc.date()
        for _ in range(_MAX_DAYS):
            windows = self._windows(d)
            # Only a day's opening counts, not its afternoon window.
            if windows and windows[0][0] >= loc:
                return self._utc(windows[0][0])
            d += _DAY
        raise CalendarError(f"no working day within {_MAX_DAYS} days of {instant.isoformat()}")

    def end_of_next_working_day(self, instant: datetime) -> datetime:
        """The close of the first working day after the local date of `instant` (回访: the day after)."""
        d = self._wall(instant).date() + _DAY
        for _ in range(_MAX_DAYS):
            windows = self._windows(d)
            if windows:
                return self._utc(windows[-1][1])
            d += _DAY
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
        try:
            cal.load(read_holiday_file(settings.holiday_file))
        except CalendarError:
            # Loud, not fatal: the years it would have given fall back (and are flagged) instead
            # of stopping the router; the admin API and CLI refuse a bad file outright.
            log.exception("HOTLINE_HOLIDAY_FILE %s is unusable; ignoring it", settings.holiday_file)
    return cal


def unknown_years() -> set[int]:
    """Years the process calendar had to guess (Monday–Friday): for readiness and metrics."""
    return get_calendar().unknown_years()
