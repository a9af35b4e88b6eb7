"""Signing in and out, who the user is (departments, roles), idle expiry and the language choice."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from engine.directory import UserView
from webapp.api.errors import under_api
from webapp.display import LANGUAGES
from webapp.runtime import directory, engine

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page says why on its own

# A hash that is checked when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


class SignedInUser(UserMixin):
    """The Flask-Login user: a directory entry plus what the pages ask of it."""

    def __init__(self, view: UserView) -> None:
        self.view = view

    def get_id(self) -> str:
        return self.view.username

    @property
    def is_active(self) -> bool:
        return self.view.active

    @property
    def username(self) -> str:
        return self.view.username

    @property
    def display_name(self) -> str:
        return self.view.display_name

    @property
    def departments(self) -> dict[str, str]:
        return self.view.departments

    def has_role(self, role: str) -> bool:
        return self.view.has_role(role)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(username: str) -> SignedInUser | None:
        view = directory().get(username)
        return SignedInUser(view) if view and view.active else None

    @app.before_request
    def expire_idle_session():
        if under_api() or not current_user.is_authenticated:
            return None  # API calls authenticate by token, never by the sign-in cookie
        now = engine().clock.now()
        seen = session.get("seen_at")
        idle_limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
        if seen and (now - datetime.fromisoformat(seen)).total_seconds() > idle_limit:
            logout_user()
            session.pop("seen_at", None)
            flash(_("Your session expired after a long time without activity. Please sign in again."), "warning")
            return redirect(url_for("auth.login", next=request.full_path))
        session["seen_at"] = now.isoformat()
        return None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        view = directory().get(username)
        valid = check_password_hash(view.password_hash if view else _DUMMY_HASH, password)
        if view is None or not valid or not view.active:
            return render_template("login.html", error=_("Wrong user name or password."), username=username), 401
        language = session.get("language")
        session.clear()  # a new session on sign-in (no fixation), keeping the language chosen on this page
        if language:
            session["language"] = language
        session.permanent = True
        login_user(SignedInUser(view))
        session["seen_at"] = engine().clock.now().isoformat()
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="")


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.pop("seen_at", None)
    return redirect(url_for("auth.login"))


@blueprint.route("/language", methods=["POST"])
def language():
    code = request.form.get("language")
    if code in LANGUAGES:
        session["language"] = code
    return redirect(_safe_next(request.form.get("next")))


def _safe_next(target: str | None) -> str:
    """Only go back to a page of this site after signing in (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("inbox.home")

