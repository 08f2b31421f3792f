"""The engine's working state: which lines and items are still free, and what was decided.

Inputs are sorted by id on the way in and every later loop walks insertion-ordered dicts, so the
outcome depends on the data only, never on the order it arrived in. A line or item leaves the
pool once: booked (auto match), held for a person (a suggestion that is a tie or names it by key,
a discrepancy), or set aside as a duplicate. That is how "each used at most once" is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter, itemgetter

from yinqi.domain.reconciliation.model import (
    Discrepancy,
    Match,
    MatchResult,
    OpenItem,
    ReasonCode,
    StatementLine,
)
from yinqi.domain.reconciliation.tolerance import MatchPolicy


class Pool:
    def __init__(self, lines: Iterable[StatementLine], items: Iterable[OpenItem], policy: MatchPolicy) -> None:
        self.policy = policy
        self.all_lines = sorted(lines, key=attrgetter("line_id"))
        self.all_items = sorted(items, key=attrgetter("item_id"))
        assert len({x.line_id for x in self.all_lines}) == len(self.all_lines), "line ids are unique"
        assert len({x.item_id for x in self.all_items}) == len(self.all_items), "item ids are unique"
        self.lines: dict[int, StatementLine] = {}
        self.items: dict[str, OpenItem] = {x.item_id: x for x in self.all_items}
        self.matches: list[Match] = []
        self.suggestions: list[Match] = []
        self.discrepancies: list[Discrepancy] = []
        self.duplicates: list[int] = []
        self._admit_lines()

    def _admit_lines(self) -> None:
        seen: set[tuple[str | None, int | None, str, object]] = set()
        refs: dict[str, int] = {}
        admitted = self.lines
        for line in self.all_lines:
            if line.status != "BOOK" or not line.amount_minor:
                continue
            ref = line.bank_reference
            if ref and ref in refs:  # only a repeated reference pays for the full key
                key = (ref, line.amount_minor, line.currency, line.value_date or line.booking_date)
                if key in seen or key == _key(admitted[refs[ref]]):
                    self.duplicates.append(line.line_id)
                    continue
                seen.add(key)
            elif ref:
                refs[ref] = line.line_id
            admitted[line.line_id] = line

    def book_pairs(self, matches: Iterable[Match]) -> None:
        """The hot path: auto 1:1 matches of lines and items the caller saw free (KeyError if not)."""
        lines, items, booked = self.lines, self.items, self.matches
        for match in matches:
            del lines[match.line_ids[0]]
            del items[match.item_ids[0]]
            booked.append(match)

    def decide(self, match: Match) -> None:
        """Record a match: auto ones are booked, the rest are suggestions; both leave the pool."""
        assert all(i in self.lines for i in match.line_ids), "a line is used at most once"
        assert all(i in self.items for i in match.item_ids), "an item is used at most once"
        (self.matches if match.auto else self.suggestions).append(match)
        self.take(match.line_ids, match.item_ids)

    def suggest(self, match: Match) -> None:
        """A suggestion that holds only its lines: its items stay free for stronger evidence."""
        assert not match.auto and all(i in self.lines for i in match.line_ids)
        self.suggestions.append(match)
        self.take(match.line_ids, ())

    def discrepancy(self, line_ids: tuple[int, ...], item_ids: tuple[str, ...], code: ReasonCode,
                    detail: str) -> None:
        self.discrepancies.append(Discrepancy(line_ids, item_ids, code, detail))
        self.take(line_ids, item_ids)

    def take(self, line_ids: Iterable[int], item_ids: Iterable[str]) -> None:
        for line_id in line_ids:
            self.lines.pop(line_id, None)
        for item_id in item_ids:
            self.items.pop(item_id, None)

    def result(self) -> MatchResult:
        booked_items = {i for m in self.matches for i in m.item_ids}
        suggestions = [s for s in self.suggestions if booked_items.isdisjoint(s.item_ids)]
        used_lines = {i for m in self.matches for i in m.line_ids}
        used_lines.update(i for m in suggestions for i in m.line_ids)
        used_lines.update(i for d in self.discrepancies for i in d.line_ids)
        used_lines.update(self.duplicates)
        used_items = booked_items
        used_items.update(i for m in suggestions for i in m.item_ids)
        used_items.update(i for d in self.discrepancies for i in d.item_ids)
        by_ids = itemgetter(0, 1)
        return MatchResult(
            matches=tuple(sorted(self.matches, key=by_ids)), suggestions=tuple(sorted(suggestions, key=by_ids)),
            discrepancies=tuple(sorted(self.discrepancies, key=lambda d: (d.line_ids, d.item_ids))),
            unmatched_line_ids=tuple(x.line_id for x in self.all_lines if x.line_id not in used_lines),
            unmatched_item_ids=tuple(x.item_id for x in self.all_items if x.item_id not in used_items),
            duplicate_line_ids=tuple(self.duplicates))


def _key(line: StatementLine) -> tuple[str | None, int | None, str, object]:
    return line.bank_reference, line.amount_minor, line.currency, line.value_date or line.booking_date
