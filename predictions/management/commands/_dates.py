import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone


def parse_date(value: str, *, option: str) -> dt.date:
    """A command's date option: YYYY-MM-DD or 'today' (UTC, the server's day)."""
    if value == "today":
        return timezone.now().date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: expected a date as YYYY-MM-DD or 'today', got {value!r}")
