"""The employee list as the main window needs it: light rows, loaded and filtered fast.

A company can have tens of thousands of employees. Loading them as ORM objects and
filtering them through a Python `filterAcceptsRow` costs seconds at start-up and close to
a hundred milliseconds per typed character. Here the rows are plain tuples read with one
Core select, the text each filter looks in is case-folded once when loading, and a filter
that only narrows the previous one (the admin typed one more character) searches only the
rows the previous one kept.

This module is plain Python with no database import, so the main window can show its
(still empty) list before SQLAlchemy is loaded; `core.list_queries` fills it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from mailsettings_desktop.core.records import EmployeeRecord


class EmployeeRow(NamedTuple):
    """One employee as listed: what the list shows and what a record needs."""

    id: int
    name: str
    position: str
    internal_email: str | None
    active: bool = True

    def record(self) -> EmployeeRecord:
        # Imported here: the records module's dataclasses cost milliseconds to build, and
        # this module is loaded before the main window's first paint.
        from mailsettings_desktop.core.records import EmployeeRecord

        return EmployeeRecord(
            self.id, self.name, self.position, self.internal_email, self.active
        )


def filter_words(text: str) -> tuple[str, ...]:
    """The words of a filter text as they are matched: case-folded, blanks ignored."""
    return tuple(text.casefold().split())


def narrows(words: Sequence[str], previous: Sequence[str]) -> bool:
    """Whether every row matching `words` also matches `previous`.

    True when each previous word is part of some new word: a row containing the new word
    then contains the previous one too. Typing another letter or another word narrows;
    deleting one does not.
    """
    return all(any(old in new for new in words) for old in previous)


class TextIndex:
    """Case-folded search texts in display order, and the positions a filter keeps.

    `positions` is always ascending, so a kept position maps back to its place in the
    filtered list with a binary search. (A plain class: building a dataclass costs a
    millisecond or two at import, and this module loads before the first paint.)
    """

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.words: tuple[str, ...] = ()
        self.positions: list[int] = list(range(len(texts)))

    def set_filter(self, text: str) -> bool:
        """Keep the entries containing every word of `text`; False if nothing changed."""
        words = filter_words(text)
        if words == self.words:
            return False
        texts = self.texts
        if not words:
            self.positions = list(range(len(texts)))
        else:
            candidates: Sequence[int] = (
                self.positions if narrows(words, self.words) else range(len(texts))
            )
            if len(words) == 1:
                (word,) = words
                self.positions = [i for i in candidates if word in texts[i]]
            else:
                self.positions = [
                    i for i in candidates if all(w in texts[i] for w in words)
                ]
        self.words = words
        return True

    def filtered_row(self, position: int) -> int | None:
        """Where the entry at `position` is in the filtered list, or None if hidden."""
        row = bisect_left(self.positions, position)
        if row < len(self.positions) and self.positions[row] == position:
            return row
        return None


class EmployeeIndex:
    """Every active employee by name, with a word filter over name and position."""

    def __init__(self, rows: Sequence[EmployeeRow]) -> None:
        self.rows: list[EmployeeRow] = list(rows)
        self._position_of = {row.id: position for position, row in enumerate(self.rows)}
        self.search = TextIndex([f"{row.name}\n{row.position}".casefold() for row in rows])

    def __len__(self) -> int:
        return len(self.rows)

    def position_of(self, employee_id: int) -> int | None:
        return self._position_of.get(employee_id)
