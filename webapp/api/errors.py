"""Every error under /api is JSON (401, 403, 404, 405, 409, 413, 422, 500, 503), never the HTML pages of the UI."""
from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException, default_exceptions

from webapp.api_calls import under_api

# Codes the UI renders as pages with its own handlers; under /api they become JSON instead.
UI_HANDLED_CODES = (400, 403, 404, 405, 413, 500)


def install(app: Flask, json_error) -> None:
    """Send /api errors to `json_error` (the API's JSON handler) and leave the UI's handlers to the pages.

    The UI registers handlers by code (they win over a handler for every HTTPException), so each of those is
    wrapped; every other HTTP error goes through one generic handler."""
    for code in UI_HANDLED_CODES:
        # The handler for the code itself (not one for a subclass such as CSRFError, which keeps its own).
        previous = app.error_handler_spec[None].get(code, {}).get(default_exceptions[code])
        app.register_error_handler(code, _by_path(json_error, previous))
    app.register_error_handler(HTTPException, _by_path(json_error, None))


def _by_path(json_error, page_handler):
    def handle(error: HTTPException):
        if under_api():
            return json_error(error)
        if page_handler is not None:
            return page_handler(error)
        return error
    return handle
