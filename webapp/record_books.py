"""Registers people open outside any one case, e.g. the customer service file (《客户服务档案》) per customer:
auditors and admins open every book, department members the books their departments keep or use."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import NotFound
from engine.handler_api import RecordBook
from engine.records import record_books
from webapp.runtime import engine

blueprint = Blueprint("records", __name__, url_prefix="/records")


def may_open(user, book: RecordBook) -> bool:
    return user.has_role("admin") or user.has_role("auditor") or any(code in user.departments for code in book.viewers)


def open_books(user) -> list[RecordBook]:
    if not user.is_authenticated:
        return []
    return [book for book in record_books.books(engine().handlers) if may_open(user, book)]


@blueprint.before_request
@login_required
def signed_in_only():
    return None


@blueprint.route("/<name>")
def book(name: str):
    key = (request.args.get("key") or "").strip() or None
    try:
        found = engine().handlers.book(name)
        if found is None:
            raise NotFound(name)
        if not may_open(current_user, found):
            abort(403, _("Only auditors and the departments that keep this record may open it."))
        section = record_books.open_book(engine().db, engine().handlers, name, key)
    except NotFound:
        abort(404)
    return render_template("records/book.html", book=found, key=key, section=section)


def init_app(app) -> None:
    app.register_blueprint(blueprint)

    @app.context_processor
    def record_book_links():
        return {"record_books_open": lambda: open_books(current_user)}
