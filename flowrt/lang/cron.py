"""A small cron matcher for the inject node's `crontab` property.

Node-RED's inject editor writes 5-field crontabs (minute hour day-of-month
month day-of-week): "MM HH * * days" for "at a time" and
"*/N H1-H2 * * days" (or "0 H1-H2 ...") for "interval between times".
Node-RED schedules them with cronosjs, which also accepts a leading seconds
field (6 fields) and a trailing year (7 fields); both are supported here.

Fields take `*`, `?`, numbers, names (jan..dec, sun..sat), ranges `a-b`,
steps `*/n`, `a-b/n`, `a/n` and comma lists. Day-of-week 0 and 7 are Sunday.
When both day-of-month and day-of-week are restricted, either may match (as
standard cron). Times are local time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["CronError", "CronSchedule", "parse_cron"]

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """A crontab expression that cannot be parsed."""


def _value(text: str, low: int, high: int, names: list[str] | None, offset: int, field: str) -> int:
    lowered = text.lower()
    if names and lowered[:3] in names and len(lowered) <= 9 and lowered.isalpha():
        return names.index(lowered[:3]) + offset
    if not text.isdigit():
        raise CronError(f"invalid value {text!r} in the {field} field")
    number = int(text)
    if number < low or number > high:
        raise CronError(f"value {number} out of range {low}-{high} in the {field} field")
    return number


def _parse_field(
    text: str, low: int, high: int, field: str, names: list[str] | None = None, offset: int = 0
) -> tuple[frozenset[int], bool]:
    """The set of values a field allows, and whether it is unrestricted (`*`)."""
    if text in ("*", "?"):
        return frozenset(range(low, high + 1)), True
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"empty list item in the {field} field")
        step = 1
        stepped = "/" in part
        if stepped:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"invalid step {step_text!r} in the {field} field")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start = _value(a, low, high, names, offset, field)
            end = _value(b, low, high, names, offset, field)
        else:
            start = _value(part, low, high, names, offset, field)
            end = high if stepped else start
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # a wrapping range such as 22-2 (hours) or fri-mon
            span = list(range(start, high + 1)) + list(range(low, end + 1))
            values.update(span[::step])
    return frozenset(values), False


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    years: frozenset[int] | None
    any_day: bool
    any_weekday: bool
    has_seconds: bool

    def _day_matches(self, when: dt.date) -> bool:
        dom = when.day in self.days
        dow = (when.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, when: dt.datetime) -> bool:
        return (
            (not self.has_seconds or when.second in self.seconds)
            and when.minute in self.minutes
            and when.hour in self.hours
            and when.month in self.months
            and (self.years is None or when.year in self.years)
            and self._day_matches(when.date())
        )

    def next_after(self, when: dt.datetime) -> dt.datetime | None:
        """The first matching time strictly after `when` (naive local time), or None."""
        unit = dt.timedelta(seconds=1) if self.has_seconds else dt.timedelta(minutes=1)
        t = when.replace(microsecond=0)
        if not self.has_seconds:
            t = t.replace(second=0)
        t += unit
        limit = when.year + 8
        while t.year <= limit:
            if self.years is not None and t.year not in self.years:
                t = dt.datetime(t.year + 1, 1, 1)
                continue
            if t.month not in self.months:
                t = dt.datetime(t.year + (t.month == 12), t.month % 12 + 1, 1)
                continue
            if not self._day_matches(t.date()):
                t = dt.datetime(t.year, t.month, t.day) + dt.timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + dt.timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t = t.replace(second=0) + dt.timedelta(minutes=1)
                continue
            if self.has_seconds and t.second not in self.seconds:
                t += dt.timedelta(seconds=1)
                continue
            return t
        return None


def parse_cron(expression: str) -> CronSchedule:
    """Parse a 5-, 6- (leading seconds) or 7-field (trailing year) crontab."""
    text = " ".join(str(expression).split())
    text = _MACROS.get(text.lower(), text)
    fields = text.split(" ") if text else []
    if len(fields) not in (5, 6, 7):
        raise CronError(f"crontab {expression!r} needs 5, 6 or 7 fields, not {len(fields)}")
    has_seconds = len(fields) >= 6
    if has_seconds:
        seconds, _ = _parse_field(fields[0], 0, 59, "seconds")
        fields = fields[1:]
    else:
        seconds = frozenset({0})
    years = None
    if len(fields) == 6:
        year_set, any_year = _parse_field(fields[5], 1970, 2099, "year")
        years = None if any_year else year_set
    minutes, _ = _parse_field(fields[0], 0, 59, "minute")
    hours, _ = _parse_field(fields[1], 0, 23, "hour")
    days, any_day = _parse_field(fields[2], 1, 31, "day-of-month")
    months, _ = _parse_field(fields[3], 1, 12, "month", _MONTHS, 1)
    weekdays, any_weekday = _parse_field(fields[4], 0, 7, "day-of-week", _DAYS)
    if 7 in weekdays:
        weekdays = (weekdays - {7}) | {0}
    return CronSchedule(
        str(expression),
        seconds,
        minutes,
        hours,
        days,
        months,
        frozenset(weekdays),
        years,
        any_day,
        any_weekday,
        has_seconds,
    )
