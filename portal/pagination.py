"""One page of a list, with what the page links (portal.templating.pagination) need."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Page:
    """One page of a list, with what the page links need."""

    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(self, left_edge=1, left_current=2, right_current=3, right_edge=1) -> Iterator[int | None]:
        last = 0
        for num in range(1, self.pages + 1):
            if (
                num <= left_edge
                or self.page - left_current <= num <= self.page + right_current - 1
                or num > self.pages - right_edge
            ):
                if last + 1 != num:
                    yield None
                yield num
                last = num


def page_numbers(page: Any) -> tuple[int | None, ...]:
    """The page links portal.templating.pagination shows (None for a gap), as a tuple (a kept fragment's
    argument): of a Page or of Flask-SQLAlchemy's Pagination, which pages the same way."""
    return tuple(page.iter_pages(left_edge=1, left_current=2, right_current=3, right_edge=1))
