"""CSRF protection on every form, security headers, and the pages for refused or conflicting requests."""
from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    csrf.init_app(app)

    @app.after_request
    def security_headers(response):
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

    @app.errorhandler(404)
    def not_found(error):
        return render_template("error.html", title=_("Not found"),
                               message=_("There is no such page, task or case.")), 404
