"""Reading the auditors' list filters from a query string: a bad value becomes the page's own error (the
list page shows it with HTTP 400), raised as the error class of the list being filtered."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _


def filter_day(value: str, what: str, error: type[Exception]) -> date | None:
    """A YYYY-MM-DD filter value, or None when empty."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise error(_("%(what)s must be a date such as 2026-11-16, not “%(value)s”.",
                      what=what, value=value)) from None


def filter_number(value: str, what: str, error: type[Exception]) -> int | None:
    """A whole-number filter value, or None when empty."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise error(_("%(what)s must be a whole number, not “%(value)s”.", what=what, value=value)) from None
