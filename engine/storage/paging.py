"""One page of a long list (the inbox, the auditors' case list, the sign-in log): its rows, the total and
where it stands, with the page asked for kept within the pages there are."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

Row = TypeVar("Row")


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows fill (at least one, an empty list shows one empty page)."""
    return max(1, -(-total // per_page))


def page_within(page: int, total: int, per_page: int) -> int:
    """The page asked for, or the last one when it asked past the end."""
    return min(page, page_count(total, per_page))


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)
