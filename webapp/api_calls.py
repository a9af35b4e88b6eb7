"""Which requests are API calls: the UI's error pages, sign-in redirects and form checks leave them to the
API's JSON answers (webapp/api). Kept outside the API package, which the UI's modules never import."""
from __future__ import annotations

from flask import request

API_PATH = "/api/"


def under_api() -> bool:
    """An API call (token-authenticated, JSON errors); the docs page is a signed-in page of the UI."""
    return request.path.startswith(API_PATH) and not request.path.startswith("/api/docs")
