"""Bearer-token authentication of every API request: the token's user, with the same role rules as the UI.

API requests never use the sign-in cookie, so the API needs no CSRF token and a browser session cannot be
abused by another site to call it."""
from __future__ import annotations

from typing import NoReturn

from flask import g, request
from flask_smorest import abort

from engine import api_tokens
from engine.directory import UserView
from webapp.runtime import engine

CHALLENGE = 'Bearer realm="aftersales-api"'


def authenticate() -> None:
    """before_request of every API blueprint: 401 unless a valid, unrevoked token of an active user is sent."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Send an API token as 'Authorization: Bearer <token>'.",
              headers={"WWW-Authenticate": CHALLENGE})
    user = api_tokens.verify(engine().db, engine().clock, token.strip())
    if user is None:
        abort(401, message="The API token is unknown, revoked, or its user is no longer active.",
              headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'})
    g.api_user = user


def api_user() -> UserView:
    """The user the request's token stands for (set by `authenticate`)."""
    return g.api_user


def forbid(message: str) -> NoReturn:
    abort(403, message=message)
    raise AssertionError("abort raises")  # for type checkers: abort is not annotated NoReturn
