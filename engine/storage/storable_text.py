"""Text no database of the system can store: PostgreSQL refuses the NUL character in text, and half of a
UTF-16 surrogate pair (a JSON "\\ud800") has no UTF-8 form. Input holding either is refused where it enters
(the web app's edge, form validation) instead of failing the transaction that would store it."""
from __future__ import annotations

import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_unstorable(text: str) -> bool:
    """Whether `text` holds a NUL character or a lone surrogate."""
    return UNSTORABLE.search(text) is not None


def holds_unstorable_text(value: Any) -> bool:
    """Whether any text in `value` (keys and values of dicts, items of lists, nested) is unstorable."""
    if isinstance(value, str):
        return is_unstorable(value)
    if isinstance(value, dict):
        return any(holds_unstorable_text(k) or holds_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(holds_unstorable_text(v) for v in value)
    return False
