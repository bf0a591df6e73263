"""Accounting periods: a month written YYYY-MM, its neighbours and its last day — one place for
every reader (close files, workbooks, the add-in, the command line) and every writer."""

from __future__ import annotations

import calendar
import datetime as dt
import re

__all__ = ["is_period", "previous_period", "next_period", "days_in", "period_end"]

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")  # [0-9], not \d: \d takes any script's digits (２０２６)


def is_period(text: object) -> bool:
    """
    >>> is_period("2026-10"), is_period("2026-13"), is_period("2026-1"), is_period(" 2026-10")
    (True, False, False, False)
    >>> is_period("\uff12\uff10\uff12\uff16-10"), is_period("2026-\u0661\u0660")  # full-width, Arabic-Indic digits
    (False, False)
    """
    return isinstance(text, str) and _MONTH.fullmatch(text) is not None


def previous_period(period: str) -> str:
    """
    >>> previous_period("2026-01"), previous_period("2026-11")
    ('2025-12', '2026-10')
    """
    year, month = map(int, period.split("-"))
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


def next_period(period: str) -> str:
    """
    >>> next_period("2026-12"), next_period("2026-10")
    ('2027-01', '2026-11')
    """
    year, month = map(int, period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}"


def days_in(period: str) -> int:
    """
    >>> days_in("2026-02"), days_in("2028-02"), days_in("2026-10")
    (28, 29, 31)
    """
    year, month = map(int, period.split("-"))
    return calendar.monthrange(year, month)[1]


def period_end(period: str) -> dt.date:
    """
    >>> period_end("2026-02"), period_end("2026-10")
    (datetime.date(2026, 2, 28), datetime.date(2026, 10, 31))
    """
    year, month = map(int, period.split("-"))
    return dt.date(year, month, days_in(period))
