"""/account/tokens: a signed-in user creates and revokes their own API tokens (a new token is shown once)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.accounts import api_tokens
from engine.errors import NotFound
from webapp.runtime import engine

blueprint = Blueprint("api_tokens", __name__)


@blueprint.before_request
@login_required
def signed_in_only():
    return None


@blueprint.after_request
def never_cached(response):
    # The page that shows a new token must not stay in a shared or back-button cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _render(new_token: api_tokens.IssuedToken | None = None, error: str | None = None, status: int = 200):
    tokens = api_tokens.list_tokens(engine().db, current_user.username)
    return render_template("account/tokens.html", tokens=tokens, new_token=new_token, error=error,
                           name_max=api_tokens.NAME_MAX), status


@blueprint.route("/account/tokens", methods=["GET", "POST"])
def tokens():
    if request.method == "GET":
        return _render()
    name = (request.form.get("name") or "").strip()
    if not name or len(name) > api_tokens.NAME_MAX or "\x00" in name:
        return _render(error=_("Give the token a name (up to %(max)s characters), e.g. the system that uses it.",
                               max=api_tokens.NAME_MAX), status=422)
    issued = api_tokens.issue(engine().db, engine().clock, current_user.username, name, current_user.username)
    return _render(new_token=issued, status=201)


@blueprint.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int):
    try:
        revoked = api_tokens.revoke(engine().db, engine().clock, token_id, current_user.username,
                                    owner=current_user.username)
    except NotFound:
        abort(404)
    flash(_("Token “%(name)s” revoked: it no longer works.", name=revoked.name), "success")
    return redirect(url_for("api_tokens.tokens"))
