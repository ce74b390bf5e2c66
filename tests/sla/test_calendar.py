"""Working-time arithmetic on China's official calendar, with fixed clocks: every expected
deadline below was counted by hand on the 2026 State Council schedule."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.sla.calendar import (
    CalendarError,
    WorkCalendar,
    parse_business_hours,
    parse_holiday_document,
    read_holiday_file,
)
from hotline.sla.policies import default_policy

CST = ZoneInfo("Asia/Shanghai")
DAY = 86400


def cst(*a: int) -> datetime:
    return datetime(*a, tzinfo=CST)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar("Asia/Shanghai")


# ---- Spring Festival 2026: off Feb 15–23, make-up working Saturdays Feb 14 and Feb 28 ----------

def test_consultation_across_spring_festival_counts_the_make_up_saturday(cal: WorkCalendar) -> None:
    # Thu 12 Feb 10:00 + 3 working days: Fri 13 (1), Sat 14 make-up (2), then Tue 24 (3).
    due = cal.add_working_days(cst(2026, 2, 12, 10), 3)
    assert due == cst(2026, 2, 24, 10)
    assert due.tzinfo == UTC


def test_complaint_13_working_days_over_spring_festival(cal: WorkCalendar) -> None:
    # Fri 13 Feb 16:00: 14 (1), 24-27 (2-5), Sat 28 (6), Mar 2-6 (7-11), Mar 9 (12), Mar 10 (13).
    assert cal.add_working_days(cst(2026, 2, 13, 16), 13) == cst(2026, 3, 10, 16)


def test_received_during_spring_festival_starts_counting_on_the_first_working_day(cal: WorkCalendar) -> None:
    # New Year's Eve (Mon 16 Feb) 20:00: nothing counts until Tue 24 00:00.
    assert cal.add_working_days(cst(2026, 2, 16, 20), 1) == cst(2026, 2, 25)
    assert cal.working_seconds_between(cst(2026, 2, 15), cst(2026, 2, 24)) == 0
    assert cal.is_working_day(cst(2026, 2, 14).date()) and cal.is_working_day(cst(2026, 2, 28).date())
    assert not cal.is_working_day(cst(2026, 2, 23).date())  # a Monday, but a holiday


# ---- National Day 2026: Mid-autumn Fri 25 Sep off, Sun 20 Sep worked, Oct 1–7 off, Sat 10 Oct worked

def test_three_working_days_over_national_day_land_on_the_make_up_saturday(cal: WorkCalendar) -> None:
    # Wed 30 Sep 09:00: Thu 8 Oct 09:00 (1), Fri 9 (2), Sat 10 make-up (3).
    assert cal.add_working_days(cst(2026, 9, 30, 9), 3) == cst(2026, 10, 10, 9)


def test_make_up_sunday_before_mid_autumn(cal: WorkCalendar) -> None:
    # Sat 19 Sep 12:00: Sun 20 is worked, so one working day ends at 24:00 that Sunday.
    assert cal.add_working_days(cst(2026, 9, 19, 12), 1) == cst(2026, 9, 21)
    # Thu 24 Sep 12:00 + 1: Fri 25 is Mid-autumn, so Mon 28 noon.
    assert cal.add_working_days(cst(2026, 9, 24, 12), 1) == cst(2026, 9, 28, 12)


def test_deadline_ending_at_midnight_before_a_holiday_is_that_midnight(cal: WorkCalendar) -> None:
    # The Zammad bug: work that ends exactly at 24:00 on the eve of a holiday must not slide
    # over the holiday to the next working morning.
    assert cal.add_working_days(cst(2026, 9, 30), 1) == cst(2026, 10, 1)
    assert cal.add_working_time(cst(2026, 9, 30, 23), 3600) == cst(2026, 10, 1)
    # One second more does slide over the whole week.
    assert cal.add_working_time(cst(2026, 9, 30, 23), 3601) == cst(2026, 10, 8, 0, 0, 1)


def test_time_zone_decides_the_day_not_utc(cal: WorkCalendar) -> None:
    # 30 Sep 17:00 UTC is 1 Oct 01:00 in Dongguan: a holiday, so the clock starts on 8 Oct.
    at = datetime(2026, 9, 30, 17, tzinfo=UTC)
    assert cal.add_working_days(at, 1) == cst(2026, 10, 9)
    assert cal.end_of_local_day(at) == cst(2026, 10, 2)


def test_working_seconds_between_skip_holidays(cal: WorkCalendar) -> None:
    assert cal.working_seconds_between(cst(2026, 9, 30, 12), cst(2026, 10, 8, 12)) == DAY
    assert cal.working_seconds_between(cst(2026, 10, 8), cst(2026, 9, 30)) == 0


# ---- month ends -----------------------------------------------------------------------------

def test_month_end_and_same_day_in_utc(cal: WorkCalendar) -> None:
    # Fri 31 Jul 18:00 + 3: Mon 3 Aug (1), Tue 4 (2), Wed 5 (3).
    assert cal.add_working_days(cst(2026, 7, 31, 18), 3) == cst(2026, 8, 5, 18)
    # 31 Aug 23:30 in Dongguan is 15:30 UTC: "the same day" ends at 16:00 UTC, not 24:00 UTC.
    assert cal.end_of_local_day(cst(2026, 8, 31, 23, 30)) == datetime(2026, 8, 31, 16, tzinfo=UTC)
    # The callback "the day after": 30 Sep → the next working day is 8 Oct, ending at 24:00.
    assert cal.end_of_next_working_day(cst(2026, 9, 30, 15)) == cst(2026, 10, 9)


def test_working_day_openings_after_a_deadline(cal: WorkCalendar) -> None:
    # A deadline of 24:00 on 30 Sep: "the working day after" is 8 Oct.
    assert cal.next_working_day_start(cst(2026, 10, 1)) == cst(2026, 10, 8)
    # A deadline at 10:00 on a working Thursday: the next one is Friday.
    assert cal.next_working_day_start(cst(2026, 10, 8, 10)) == cst(2026, 10, 9)


# ---- business hours -------------------------------------------------------------------------

def test_business_hours() -> None:
    cal = WorkCalendar("Asia/Shanghai", parse_business_hours("08:30-12:00,14:00-17:30"))
    assert cal.working_day_seconds == 7 * 3600
    # Wed 30 Sep 16:00 + one 7-hour day: 1.5 h that day, 3.5 h on the morning of 8 Oct, 2 h after lunch.
    assert cal.add_working_days(cst(2026, 9, 30, 16), 1) == cst(2026, 10, 8, 16)
    # A day's work that ends at closing time ends then, not at the next opening.
    assert cal.add_working_days(cst(2026, 9, 30, 8, 30), 1) == cst(2026, 9, 30, 17, 30)
    # A message at lunch counts from 14:00.
    assert cal.add_working_time(cst(2026, 10, 8, 12, 30), 3600) == cst(2026, 10, 8, 15)
    assert cal.next_working_day_start(cst(2026, 9, 30, 17, 30)) == cst(2026, 10, 8, 8, 30)
    assert cal.working_seconds_between(cst(2026, 9, 30, 0), cst(2026, 10, 9, 0)) == 14 * 3600
    with pytest.raises(CalendarError):
        parse_business_hours("14:00-12:00")


# ---- beyond the package: 2027 ---------------------------------------------------------------

HOLIDAYS_2027 = {"2027": {"holidays": ["2027-01-01", "2027-02-06..2027-02-13"],
                          "workdays": ["2027-02-20"], "note": "test schedule"}}


def test_13_working_days_from_mid_december_2026_into_unknown_2027_is_flagged(
        cal: WorkCalendar, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        due = cal.add_working_days(cst(2026, 12, 15, 10), 13)
        cal.add_working_days(cst(2026, 12, 16, 10), 13)
    # Dec 16-18, 21-25, 28-31 are 12 working days; the 13th is Fri 1 Jan 2027 on the guess.
    assert due == cst(2027, 1, 1, 10)
    assert cal.unknown_years() == {2027}
    assert cal.source_of(2027) == "fallback-mon-fri"
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1 and "Monday-Friday" in warnings[0].getMessage()


def test_loaded_2027_schedule_makes_the_deadline_exact(cal: WorkCalendar, tmp_path: Path) -> None:
    cal.add_working_days(cst(2026, 12, 15, 10), 13)
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps(HOLIDAYS_2027), "utf-8")
    cal.load(read_holiday_file(path))
    assert cal.unknown_years() == set()
    assert cal.source_of(2027) == "loaded"
    # New Year's Day 2027 is off, so the 13th working day is Mon 4 Jan.
    assert cal.add_working_days(cst(2026, 12, 15, 10), 13) == cst(2027, 1, 4, 10)
    # The loaded Spring Festival: Fri 5 Feb + 1 day skips 6–13 Feb, Sat 20 is worked.
    assert cal.add_working_days(cst(2027, 2, 5, 12), 1) == cst(2027, 2, 15, 12)
    assert cal.is_working_day(cst(2027, 2, 20).date())


@pytest.mark.parametrize("doc", [
    {"2027": {"holidays": ["2026-12-31"]}},
    {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}},
    {"2027": {"holidays": ["2027-13-01"]}},
    {"2027": {"holidays": []}},
    {"twenty": {"holidays": ["2027-01-01"]}},
    {"2027": {"holiday": ["2027-01-01"]}},
])
def test_bad_holiday_files_are_refused_with_a_reason(doc: dict) -> None:
    with pytest.raises(CalendarError):
        parse_holiday_document(doc)


def test_default_policies_follow_the_reference_rules(cal: WorkCalendar) -> None:
    p = default_policy()
    assert p.clock_for("consultation", "normal", "reply").amount == 3
    assert p.clock_for("help", "normal", "reply").amount == 3
    for t in ("complaint", "report", "suggestion"):
        assert p.clock_for(t, "normal", "reply").amount == 13
    # Emergencies: the same day, whatever the type.
    assert p.clock_for("complaint", "emergency", "reply").unit == "same_day"
    assert p.return_within.amount == 2 and p.extension_max.amount == 10
    assert p.clock_for("complaint", "normal", "callback").due(cal, cst(2026, 9, 30, 15)) == cst(2026, 10, 9)


# ---- the fast whole-day path against a plain day-by-day count ---------------------------------

def _day_by_day_add(cal: WorkCalendar, start: datetime, seconds: int) -> datetime:
    """Reference: walk the local days one by one, spending working time on working days."""
    cursor = start.astimezone(CST).replace(tzinfo=None)
    remaining = timedelta(seconds=seconds)
    day = cursor.date()
    while True:
        if cal.is_working_day(day):
            end = datetime.combine(day + timedelta(days=1), time(0))
            available = end - max(cursor, datetime.combine(day, time(0)))
            if available >= remaining:
                return (max(cursor, datetime.combine(day, time(0))) + remaining).replace(tzinfo=CST)
            remaining -= available
        day += timedelta(days=1)


_SHARED = WorkCalendar("Asia/Shanghai")  # built once: its per-year tables are the costly part


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 20)),
       seconds=st.integers(min_value=1, max_value=30 * DAY), span=st.integers(min_value=0, max_value=40 * DAY))
def test_whole_day_arithmetic_matches_counting_day_by_day(start: datetime, seconds: int, span: int) -> None:
    cal = _SHARED
    at = start.replace(tzinfo=CST)
    due = cal.add_working_time(at, seconds)
    assert due == _day_by_day_add(cal, at, seconds)
    # And the two directions agree: the working time from the start to the deadline is what was added.
    assert cal.working_seconds_between(at, due) == seconds
    later = at + timedelta(seconds=span)
    assert cal.working_seconds_between(at, later) <= span


def test_holiday_file_from_settings_and_a_broken_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from hotline.sla.calendar import calendar_from_settings
    from tests.conftest import settings_for

    good = tmp_path / "holidays.json"
    good.write_text(json.dumps(HOLIDAYS_2027), "utf-8")
    cal = calendar_from_settings(settings_for("sqlite://", holiday_file=good, business_hours="09:00-17:00"))
    assert cal.source_of(2027) == "loaded" and cal.working_day_seconds == 8 * 3600

    broken = tmp_path / "broken.json"
    broken.write_text('{"2027": {"holidays": ["2027-02-30"]}}', "utf-8")
    with caplog.at_level(logging.ERROR):
        cal = calendar_from_settings(settings_for("sqlite://", holiday_file=broken))
    assert cal.source_of(2027) == "fallback-mon-fri"
    assert "unusable" in caplog.text
