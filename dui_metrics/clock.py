"""The one place that says what "today" is.

Ingestion rejects months after the current month; tests need to pin that date. Set the
environment variable ``DUI_METRICS_TODAY`` (``AAAA-MM-JJ``) to override the system date.
"""

from __future__ import annotations

import datetime as dt
import os

ENV_VAR = "DUI_METRICS_TODAY"


def today() -> dt.date:
    """Today's date, or the one given by ``DUI_METRICS_TODAY``."""
    value = os.environ.get(ENV_VAR)
    if value:
        return dt.date.fromisoformat(value)
    return dt.date.today()


def current_month() -> dt.date:
    """First day of the current month."""
    return today().replace(day=1)
