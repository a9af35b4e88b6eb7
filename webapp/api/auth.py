"""Bearer-token authentication of every API request: the token's user, with the same role rules as the UI.

API requests never use the sign-in cookie, so the API needs no CSRF token and a browser session cannot be
abused by another site to call it. A refused token is in the sign-in log (/audit/logins) with the caller's
address; an address with too many refused tokens gets 429 until the window has passed, whatever it sends,
so tokens cannot be guessed at speed (engine.accounts.sign_in)."""
from __future__ import annotations

from typing import NoReturn

from flask import current_app, g, request
from flask_smorest import abort

from engine.accounts import api_tokens, sign_in
from engine.accounts.directory import UserView
from engine.working_time.calendar import BUSINESS_TZ
from webapp.runtime import engine

CHALLENGE = 'Bearer realm="aftersales-api"'


def authenticate() -> None:
    """before_request of every API blueprint: 401 unless a valid, unrevoked token of an active user is sent."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Send an API token as 'Authorization: Bearer <token>'.",
              headers={"WWW-Authenticate": CHALLENGE})
    sign_ins = current_app.extensions["aftersales.sign_ins"]
    client = sign_in.Client(ip=request.remote_addr, user_agent=request.user_agent.string or None)
    until = sign_ins.token_locked_until(client.ip)
    if until is not None:
        wait = max(1, int((until - engine().clock.now()).total_seconds()) + 1)
        abort(429, message="Too many refused API tokens from this address. Try again after "
                           f"{until.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M:%S} (Beijing time).",
              headers={"Retry-After": str(wait)})
    user = api_tokens.verify(engine().db, engine().clock, token.strip())
    if user is None:
        sign_ins.record(sign_in.API_TOKEN_REFUSED, api_tokens.shown_prefix(token.strip()), client)
        abort(401, message="The API token is unknown, revoked, or its user is no longer active.",
              headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'})
    g.api_user = user


def api_user() -> UserView:
    """The user the request's token stands for (set by `authenticate`)."""
    return g.api_user


def forbid(message: str) -> NoReturn:
    abort(403, message=message)
    raise AssertionError("abort raises")  # for type checkers: abort is not annotated NoReturn
