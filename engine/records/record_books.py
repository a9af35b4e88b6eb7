"""Registers kept across cases (the customer service file…), read through the handlers that keep them."""
from __future__ import annotations

from engine.errors import NotFound
from engine.handler_api import HandlerRegistry, RecordBook, RecordSection
from engine.storage.database import Database


def books(handlers: HandlerRegistry) -> list[RecordBook]:
    return handlers.record_books()


def open_book(db: Database, handlers: HandlerRegistry, name: str, key: str | None = None) -> RecordSection | None:
    """The book's index (key None) or one entry; None when there is nothing filed under the key yet."""
    book = handlers.book(name)
    if book is None:
        raise NotFound(f"no record book '{name}'")
    with db.sessions() as session:
        try:
            return book.read(session, key)
        except LookupError as err:  # a key the book cannot read, e.g. "2026-13" for a month
            raise NotFound(str(err)) from None
