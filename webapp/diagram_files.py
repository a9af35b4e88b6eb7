"""Diagram files (.bpmn) as the server hands them out: downloads a browser never renders.

A diagram's documentation is text its author chose, and a BPMN file is XML: opened in a browser as
application/xml it would be a document, where an XHTML `meta refresh` inside the documentation navigates
the reader's browser elsewhere (issue 18). Every route that serves a diagram therefore answers it as an
attachment, forbids type sniffing and sandboxes it (a sandboxed document runs nothing and follows no
refresh). bpmn.io's viewer and modeller read these routes with fetch(), which ignores all three."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response

DIAGRAM_MIMETYPE = "application/xml"
# No script, no plugin, no navigation, no automatic refresh even if a browser were to render the file anyway.
DIAGRAM_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


def diagram_response(xml: bytes | str, filename: str) -> Response:
    """The diagram `xml` as a download named `filename` (any characters: non-ASCII names are sent as
    RFC 6266 `filename*`, with an ASCII fallback)."""
    response = Response(xml, mimetype=DIAGRAM_MIMETYPE)
    response.headers["Content-Disposition"] = attachment(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DIAGRAM_CSP
    return response


def attachment(filename: str) -> str:
    """A Content-Disposition header value that saves the file as `filename`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "diagram.bpmn"
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
