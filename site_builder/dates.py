"""Locale-independent date formatting (the same on every machine)."""

from __future__ import annotations

import datetime as dt

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def short_date(date: dt.date | None) -> str:
    """``Tue 21 Apr 2026`` (locale-independent)."""
    return f"{WEEKDAYS[date.weekday()][:3]} {plain_date(date)}" if date else ""


def long_date(date: dt.date | None) -> str:
    """``Tuesday 21 April 2026``."""
    return f"{WEEKDAYS[date.weekday()]} {date.day} {month_name(date)}" if date else ""


def plain_date(date: dt.date | None) -> str:
    """``21 Apr 2026``."""
    return f"{date.day} {MONTHS[date.month - 1][:3]} {date.year}" if date else ""


def month_name(date: dt.date) -> str:
    return f"{MONTHS[date.month - 1]} {date.year}"


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``1 paper``, ``41 papers``, ``1,204 papers``."""
    word = singular if number == 1 else (plural or singular + "s")
    return f"{number:,} {word}"
