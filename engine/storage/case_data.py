"""Case data as the JSON columns hold it (task rows, snapshots): dates and decimals kept as text, at any depth,
instead of dropped or failing the flush."""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def json_safe(value: Any) -> Any:
    """Case data as JSON can hold it: dates as ISO text, decimals as text, anything else by its text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
