"""Signing in and out, who the user is (departments, roles), idle expiry and the language choice.

The rules of an attempt (lockout after repeated failures) and the sign-in log live in engine.accounts.sign_in; this
module checks the password hash, keeps the session and says what happened on the page.

The session is a signed cookie; what ends it on the server is the user's session generation (engine
models: users.session_generation), put in the cookie at sign-in and compared on every request. Signing
out, a password change and a deactivation raise it, so a cookie kept from before (another browser, or one
copied) signs nobody in afterwards."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from engine.accounts import passwords, sign_in
from engine.accounts.directory import UserView
from engine.accounts.sign_in import Client, SignInPolicy, SignIns
from webapp.api_calls import under_api
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
    """The hash stored for a password: of its normalised form (engine.accounts.passwords.normalised), so invisible
    characters and full-width letters neither count towards the policy nor lock their owner out."""
    return generate_password_hash(passwords.normalised(password))


def password_matches(password_hash: str | None, typed: str) -> bool:
    """Whether `typed` is the password of `password_hash` (None: an unknown user, checked against a dummy
    so both take as long). A hash made before passwords were normalised also matches the text as typed."""
    stored = password_hash or _DUMMY_HASH
    normal = passwords.normalised(typed)
    matches = check_password_hash(stored, normal)
    if not matches and normal != typed:
        matches = check_password_hash(stored, typed)
    return matches and password_hash is not None


def sign_ins() -> SignIns:
    return current_app.extensions["aftersales.sign_ins"]


def request_client() -> Client:
    """The address and browser of this request, for the sign-in log (the client's own behind
    AFTERSALES_TRUSTED_PROXIES proxies: create_app wraps the app in ProxyFix)."""
    return Client(ip=request.remote_addr, user_agent=request.user_agent.string or None)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    if not {"LOGIN_MAX_FAILURES", "LOGIN_LOCKOUT_MINUTES", "PASSWORD_MIN_LENGTH"} <= set(app.config):
        settings = app.extensions["aftersales.settings"]  # put there by create_app
        app.config.setdefault("LOGIN_MAX_FAILURES", settings.login_max_failures)
        app.config.setdefault("LOGIN_LOCKOUT_MINUTES", settings.login_lockout_minutes)
        app.config.setdefault("PASSWORD_MIN_LENGTH", settings.password_min_length)
    engine_ = app.extensions["aftersales.engine"]
    app.extensions["aftersales.sign_ins"] = SignIns(engine_.db, engine_.clock, SignInPolicy(
        max_failures=app.config["LOGIN_MAX_FAILURES"], lockout_minutes=app.config["LOGIN_LOCKOUT_MINUTES"]))

    @login_manager.user_loader
    def load_user(username: str) -> SignedInUser | None:
        view = directory().get(username)
        if view is not None and view.active and session.get("generation") == view.session_generation:
            return SignedInUser(view)
        # Signed out, password changed or deactivated since this cookie was issued: it is worth nothing now.
        sign_ins().record(sign_in.SESSION_REVOKED, username, request_client())
        _forget_user()
        flash(_("Your session has ended (you signed out, your password was changed or your account was "
                "deactivated). Please sign in again."), "warning")
        return None

    @app.before_request
    def expire_idle_session():
        if under_api() or not current_user.is_authenticated:
            return None  # API calls authenticate by token, never by the sign-in cookie
        now = engine().clock.now()
        seen = session.get("seen_at")
        idle_limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
        if seen and (now - datetime.fromisoformat(seen)).total_seconds() > idle_limit:
            sign_ins().record(sign_in.SESSION_EXPIRED, current_user.username, request_client())
            logout_user()
            _forget_user()
            flash(_("Your session expired after a long time without activity. Please sign in again."), "warning")
            return redirect(url_for("auth.login", next=request.full_path))
        session["seen_at"] = now.isoformat()
        return None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = sign_in.typed_username(request.form.get("username"))
        password = request.form.get("password") or ""
        result = sign_ins().attempt(username, lambda stored: password_matches(stored, password), request_client())
        if result.outcome == sign_in.LOCKED_OUT:
            error = _("Too many failed sign-ins for this user name or from this computer. "
                      "Try again after %(time)s (Beijing time).",
                      time=format_datetime(result.locked_until, "yyyy-MM-dd HH:mm:ss"))
            return render_template("login.html", error=error, username=username,
                                   locked_until=result.locked_until), 429
        if not result.signed_in:
            return render_template("login.html", error=_("Wrong user name or password."), username=username), 401
        language = session.get("language")
        session.clear()  # a new session on sign-in (no fixation), keeping the language chosen on this page
        if language:
            session["language"] = language
        session.permanent = True
        login_user(SignedInUser(result.user))
        session["generation"] = result.user.session_generation
        session["seen_at"] = engine().clock.now().isoformat()
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="")


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    sign_ins().sign_out(current_user.username, request_client())  # ends every cookie issued to the user
    logout_user()
    _forget_user()
    return redirect(url_for("auth.login"))


def _forget_user() -> None:
    """Drop who was signed in from this session (the language chosen stays)."""
    for key in ("_user_id", "_fresh", "_id", "seen_at", "generation", "credential"):
        session.pop(key, None)


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

