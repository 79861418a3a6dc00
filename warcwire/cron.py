"""Cron expressions from sites.yaml as APScheduler 3.x triggers, and timezones.

A ``schedule`` is standard 5-field cron (minute hour day month day-of-week), or
6 fields with seconds first (``*/20 * * * * *``) for sub-minute schedules.
Day-of-week follows cron (0 or 7 = Sunday), not APScheduler 3.x's numbering
(0 = Monday), so numbers are translated to day names before APScheduler sees them.

At the bottom of the layers: the config model validates schedules with it, and
the scheduler (jobs/) builds its jobs with it.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_DOW_TERM = re.compile(r"^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:/(\d+))?$")


def parse_timezone(name: str) -> tzinfo:
    """An IANA timezone such as 'UTC' or 'Europe/Berlin'."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (use an IANA name such as "
                         "'UTC' or 'Europe/Berlin')") from None


def _day(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    if token[:3] in _DAYS and len(token) == 3:
        return _DAYS.index(token)
    raise ValueError(f"invalid day of week {token!r} (0-7 or sun-sat)")


def cron_day_of_week(field: str) -> str:
    """Cron's day-of-week field as APScheduler day names ('1-5' -> 'mon,tue,...,fri')."""
    field = field.lower()
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for term in field.split(","):
        m = _DOW_TERM.match(term)
        if not m:
            raise ValueError(f"invalid day of week {term!r}")
        start, end, step = m.group(1), m.group(2), int(m.group(3) or 1)
        if step < 1:
            raise ValueError(f"invalid step in day of week {term!r}")
        if start == "*":
            first, last = 0, 6
        else:
            first = _day(start)
            last = (7 if end == "7" else _day(end)) if end else (6 if m.group(3) else first)
        if last < first:
            raise ValueError(f"day-of-week range {term!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_DAYS[d] for d in sorted(days))


def cron_trigger(expr: str, timezone: tzinfo | str) -> CronTrigger:
    """Build the trigger for a 5- or 6-field cron expression; ValueError if invalid."""
    tz = parse_timezone(timezone) if isinstance(timezone, str) else timezone
    parts = expr.split()
    if len(parts) == 5:
        second, (minute, hour, day, month, dow) = "0", parts
    elif len(parts) == 6:
        second, minute, hour, day, month, dow = parts
    else:
        raise ValueError(f"expected 5 cron fields (or 6 with seconds first), got {len(parts)}")
    day = "*" if day == "?" else day
    try:
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=cron_day_of_week(dow), timezone=tz)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expr!r}: {exc}") from None
