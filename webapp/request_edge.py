"""What the web app refuses before any page or API call runs (issue 18): text no database can store (a NUL
character or a lone surrogate, engine.storage.storable_text) in the path, the query, a form or a JSON body, and
JSON nested deeper than any form needs (Python's parser would exhaust its stack on it and answer 500).

One check at the door rather than one per view: a search box, the sign-in form and every form a diagram
defines are covered alike, and nothing of a refused request reaches the database."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from itertools import accumulate, count
from operator import sub
from typing import Any

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_smorest import abort

from engine.diagrams.forms import UNSTORABLE_MESSAGE
from engine.storage.storable_text import holds_unstorable_text, is_unstorable
from webapp.api_calls import under_api

# Forms are flat and a case's data a few levels deep; nothing the system takes nests further.
MAX_JSON_DEPTH = 64

# Possessive and with an optional closing quote: one pass however the text is built (a string never
# closed, full of escaped quotes, made the backtracking form take quadratic time before any sign-in).
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.S)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
# An opening bracket counts 2 and a closing one 0, so the depth after n brackets is their sum minus n.
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def init_app(app: Flask) -> None:
    """Run the check before every other request hook (sign-in, CSRF, API tokens): they read the request too."""
    app.before_request(refuse_unusable_input)


def refuse_unusable_input():
    """Refuse the request with a message in the user's language, or let it through (None)."""
    if request.is_json and json_nesting_exceeds(request.get_data(cache=True), MAX_JSON_DEPTH):
        message = _("The JSON body is nested more than %(limit)d levels deep; nothing was stored.",
                    limit=MAX_JSON_DEPTH)
        return _refused(400, _("The request cannot be read"), message, None)
    field = unstorable_field()
    if field is not None:
        return _refused(422 if under_api() else 400, _("The input cannot be stored"),
                        _("What was sent contains a character that cannot be stored (a NUL character or half of "
                          "a surrogate pair), perhaps pasted from another program. Remove it and send it again; "
                          "nothing was saved."), field)
    return None


def unstorable_field() -> str | None:
    """The name of the first path part, query parameter, form field, file name or JSON member holding text
    that cannot be stored (the JSON body as a whole is named `body`)."""
    for name, value in _named_texts():
        if is_unstorable(name) or holds_unstorable_text(value):
            return name
    return None


def _named_texts() -> Iterator[tuple[str, Any]]:
    sources: list[Iterable[tuple[str, Any]]] = [(request.view_args or {}).items(), request.args.items(multi=True)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources += [request.form.items(multi=True),
                    ((name, upload.filename) for name, upload in request.files.items(multi=True))]
    for source in sources:
        yield from source
    if request.is_json:
        body = request.get_json(silent=True)
        yield from body.items() if isinstance(body, dict) else [("body", body)]


def json_nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text `body` nests arrays and objects more than `limit` deep. Cheap: a count when
    there are few brackets, else two regular-expression passes and a running sum in C, never a parse."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    try:
        text = body.decode(json.detect_encoding(body))
    except (UnicodeDecodeError, LookupError):
        return False  # not JSON text: the parser refuses it with 400 on its own
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii").translate(_STEPS)
    return max(map(sub, accumulate(brackets), count(1)), default=0) > limit


def _refused(code: int, title: str, message: str, field: str | None):
    if under_api():
        errors = {field: [UNSTORABLE_MESSAGE]} if field is not None else None
        abort(code, message=message, **({"errors": errors} if errors else {}))
    return render_template("error.html", title=title, message=message), code
