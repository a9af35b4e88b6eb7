"""CSRF protection on every form, security headers and cookie flags, and the pages for refused or
conflicting requests.

With AFTERSALES_SECURE_COOKIES on (the site is served over HTTPS) the session and remember-me cookies are
sent only over HTTPS and browsers are told to use HTTPS only (Strict-Transport-Security); pages shown to a
signed-in user are never stored by a browser or proxy cache (static files stay cacheable)."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from webapp.api_calls import under_api
from webapp.database_outage import database_away, database_unavailable, unavailable

csrf = CSRFProtect()

HSTS = "max-age=31536000"
# The pages use none of these browser features; a page injected into ours cannot either.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")

    @app.after_request
    def security_headers(response):
        if secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        # A 503 for the database: no-store, and who is signed in cannot be read (it is in the database).
        if request.endpoint != "static" and (database_unavailable() or under_api() or current_user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                    "script-src 'self'; frame-ancestors 'none'")
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return render_template("error.html", title=_("The form has expired"),
                               message=_("The page was open too long or was sent from elsewhere. "
                                         "Go back, reload the page and try again.")), 400

    @app.errorhandler(403)
    def forbidden(error):
        return render_template("error.html", title=_("Not allowed"),
                               message=getattr(error, "description", None) or
                               _("You may not do this.")), 403

    @app.errorhandler(413)
    def too_large(error):
        limit_mb = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return render_template("error.html", title=_("The file is too large"),
                               message=_("A request may carry at most %(mb)d MB; nothing was stored.",
                                         mb=limit_mb)), 413

    @app.errorhandler(500)
    def server_error(error):
        if database_away(getattr(error, "original_exception", None)):
            return unavailable()  # the database went away while another error page was read from it
        # The engine's own fault, never the user's: nothing of the failed step was stored (one transaction).
        return render_template("error.html", title=_("Something went wrong"),
                               message=_("The system could not finish this action, and nothing of it was "
                                         "saved. Try again in a moment; if it happens again, tell your "
                                         "administrator the time it happened.")), 500

    @app.errorhandler(404)
    def not_found(error):
        return render_template("error.html", title=_("Not found"),
                               message=_("There is no such page, task or case.")), 404
