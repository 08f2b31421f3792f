"""Key-linked groups of lines and items, and how each group resolves into matches.

Stage 1 (identity keys) and the reference stage (invoice numbers found in text) both produce
"this line names these items". Lines and items linked that way form small connected groups; each
group resolves on amounts alone, because the names were already given:

* one line, one item: exact amount → 1:1; less by an allowed fee → 1:1 with FEE_DRIFT; less
  on the same side → PARTIAL suggestion; otherwise a discrepancy.
* one line, several items: a unique subset adding up exactly → 1:N (a batch booking); several
  subsets → a tie for a person.
* several lines, one item: exactly one line with the exact amount → 1:1; several → a tie; else a
  unique subset of lines adding up → N:1 (instalments).
* several lines and items: only unambiguous exact 1:1 pairs are taken.

In the strict mode (identity keys) anything left in a group is held for a person: a line that
names an order by its end-to-end id must not be matched elsewhere on weaker evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from yinqi.domain.reconciliation.model import (
    OpenItem,
    Reason,
    ReasonCode,
    Rule,
    StatementLine,
    Strategy,
    checked_match,
)
from yinqi.domain.reconciliation.pool import Pool
from yinqi.domain.reconciliation.sums import subsets_summing_to


@dataclass(frozen=True, slots=True)
class Group:
    lines: tuple[StatementLine, ...]
    items: tuple[OpenItem, ...]
    evidence: tuple[Reason, ...]  # why these were linked (key kinds, reference tokens)


@dataclass(frozen=True, slots=True)
class Resolver:
    pool: Pool
    rule: Rule
    base: float  # confidence of an exact 1:1 in this stage
    strict: bool  # hold what does not resolve (identity) or leave it free (reference)

    def resolve(self, group: Group) -> None:
        lines, items = group.lines, group.items
        if len(lines) == 1 and len(items) == 1:
            self._one_to_one(lines[0], items[0], group.evidence)
        elif len(lines) == 1:
            self._one_to_many(lines[0], items, group.evidence)
        elif len(items) == 1:
            self._many_to_one(lines, items[0], group.evidence)
        else:
            self._many_to_many(group)

    def _book(self, lines: tuple[StatementLine, ...], items: tuple[OpenItem, ...], confidence: float,
              reasons: tuple[Reason, ...], *, fee_minor: int = 0, to_person: bool = False) -> None:
        strategy = (Strategy.ONE_TO_MANY if len(items) > 1 else
                    Strategy.MANY_TO_ONE if len(lines) > 1 else Strategy.ONE_TO_ONE)
        confidence = round(max(0.0, min(1.0, confidence)), 4)
        auto = confidence >= self.pool.policy.auto_threshold and not to_person
        self.pool.decide(checked_match(tuple(x.line_id for x in lines), tuple(x.item_id for x in items), self.rule,
                               strategy, confidence, reasons, fee_minor, auto))

    def _leave(self, lines: tuple[StatementLine, ...], items: tuple[OpenItem, ...], code: ReasonCode,
               detail: str) -> None:
        if self.strict and (lines or items):
            self.pool.discrepancy(tuple(x.line_id for x in lines), tuple(x.item_id for x in items), code, detail)

    def _one_to_one(self, line: StatementLine, item: OpenItem, evidence: tuple[Reason, ...]) -> None:
        assert line.amount_minor is not None
        if line.currency != item.currency:
            return self._leave((line,), (item,), ReasonCode.CURRENCY_DIFFERS,
                               f"line in {line.currency}, item in {item.currency}")
        drift = line.amount_minor - item.signed_minor
        if drift == 0:
            return self._book((line,), (item,), self.base, (*evidence, Reason(ReasonCode.AMOUNT_EXACT)))
        if self.pool.policy.fee_allows(drift_minor=drift, amount_minor=item.amount_minor):
            return self._book((line,), (item,), self.base - 0.03,
                              (*evidence, Reason(ReasonCode.FEE_DRIFT, str(-drift))), fee_minor=-drift)
        if (line.amount_minor > 0) == (item.signed_minor > 0) and abs(line.amount_minor) < item.amount_minor:
            return self._book((line,), (item,), min(self.base - 0.35, 0.65),
                              (*evidence, Reason(ReasonCode.PARTIAL, str(abs(line.amount_minor)))), to_person=True)
        return self._leave((line,), (item,), ReasonCode.AMOUNT_DIFFERS,
                           f"line {line.amount_minor}, item expects {item.signed_minor}")

    def _one_to_many(self, line: StatementLine, items: tuple[OpenItem, ...], evidence: tuple[Reason, ...]) -> None:
        assert line.amount_minor is not None
        same = tuple(i for i in items if i.currency == line.currency
                     and (i.signed_minor > 0) == (line.amount_minor > 0))
        policy = self.pool.policy
        sols = subsets_summing_to([i.signed_minor for i in same], line.amount_minor,
                                  max_items=policy.subset_max_items, node_budget=policy.subset_node_budget)
        if len(sols) == 1:
            chosen = tuple(same[k] for k in sols[0])
            whole = len(chosen) == len(items)
            code = ReasonCode.AMOUNT_SUM if whole else ReasonCode.SUBSET_SUM
            return self._book((line,), chosen, self.base - (0.01 if whole else 0.05),
                              (*evidence, Reason(code, str(len(chosen)))))
        if len(sols) > 1:
            return self._book((line,), same, self.base - 0.4, (*evidence, Reason(ReasonCode.TIE, "subsets")),
                              to_person=True)
        total = sum(i.signed_minor for i in same)
        if same and policy.fee_allows(drift_minor=line.amount_minor - total, amount_minor=abs(total)):
            fee = total - line.amount_minor  # positive for debits and credits alike (fee_allows)
            return self._book((line,), same, self.base - 0.04,
                              (*evidence, Reason(ReasonCode.AMOUNT_SUM, str(len(same))),
                               Reason(ReasonCode.FEE_DRIFT, str(fee))), fee_minor=fee)
        return self._leave((line,), items, ReasonCode.AMOUNT_DIFFERS,
                           f"line {line.amount_minor} is no sum of the {len(items)} items it names")

    def _many_to_one(self, lines: tuple[StatementLine, ...], item: OpenItem, evidence: tuple[Reason, ...]) -> None:
        exact = tuple(x for x in lines if x.amount_minor == item.signed_minor and x.currency == item.currency)
        if len(exact) == 1:
            self._book(exact, (item,), self.base - 0.01, (*evidence, Reason(ReasonCode.AMOUNT_EXACT)))
            rest = tuple(x for x in lines if x is not exact[0])
            return self._leave(rest, (), ReasonCode.AMBIGUOUS, f"names item {item.item_id}, matched by another line")
        if len(exact) > 1:
            rivals = ",".join(str(x.line_id) for x in exact)
            return self._book(exact, (item,), self.base - 0.4, (*evidence, Reason(ReasonCode.TIE, rivals)),
                              to_person=True)
        same = tuple(x for x in lines if x.currency == item.currency
                     and ((x.amount_minor or 0) > 0) == (item.signed_minor > 0))
        policy = self.pool.policy
        sols = subsets_summing_to([x.amount_minor or 0 for x in same], item.signed_minor,
                                  max_items=policy.subset_max_items, node_budget=policy.subset_node_budget)
        if len(sols) == 1 and len(sols[0]) > 1:
            chosen = tuple(same[k] for k in sols[0])
            self._book(chosen, (item,), self.base - 0.02, (*evidence, Reason(ReasonCode.AMOUNT_SUM, str(len(chosen)))))
            return self._leave(tuple(x for x in lines if x not in chosen), (), ReasonCode.AMBIGUOUS,
                               f"names item {item.item_id}, paid by other lines")
        return self._leave(lines, (item,), ReasonCode.AMBIGUOUS,
                           f"{len(lines)} lines name item {item.item_id}; no unique split of its amount")

    def _many_to_many(self, group: Group) -> None:
        by_amount: dict[tuple[str, int], list[OpenItem]] = {}
        for item in group.items:
            by_amount.setdefault((item.currency, item.signed_minor), []).append(item)
        counts: dict[tuple[str, int], int] = {}
        for line in group.lines:
            key = (line.currency, line.amount_minor or 0)
            counts[key] = counts.get(key, 0) + 1
        left_lines = []
        for line in group.lines:
            key = (line.currency, line.amount_minor or 0)
            hit = by_amount.get(key, [])
            if len(hit) == 1 and counts[key] == 1:
                self._book((line,), (hit[0],), self.base - 0.02, (*group.evidence, Reason(ReasonCode.AMOUNT_EXACT)))
            else:
                left_lines.append(line)
        left_items = tuple(i for i in group.items if i.item_id in self.pool.items)
        self._leave(tuple(left_lines), left_items, ReasonCode.AMBIGUOUS,
                    f"{len(left_lines)} lines and {len(left_items)} items linked by keys, no clean split")


Node = tuple[str, int | str]  # ("l", line id) or ("i", item id)


def link(pool: Pool, hits: dict[int, tuple[str, ...]], evidence: dict[int, tuple[Reason, ...]]) -> list[Group]:
    """Connected groups of lines and the items they name, in order of their first line."""
    named: dict[str, int] = {}
    for item_ids in hits.values():
        for item_id in item_ids:
            named[item_id] = named.get(item_id, 0) + 1
    groups: list[Group] = []
    parent: dict[Node, Node] = {}
    for line_id, item_ids in hits.items():
        if len(item_ids) == 1 and named[item_ids[0]] == 1:  # the common case, no union-find
            groups.append(Group((pool.lines[line_id],), (pool.items[item_ids[0]],), evidence[line_id]))
            continue
        for item_id in item_ids:
            _union(parent, ("l", line_id), ("i", item_id))
    return groups + _collect(pool, parent, evidence)


def _find(parent: dict[Node, Node], x: Node) -> Node:
    root = x
    while parent.setdefault(root, root) != root:
        root = parent[root]
    while parent[x] != root:  # path compression keeps later finds O(1)
        parent[x], x = root, parent[x]
    return root


def _union(parent: dict[Node, Node], a: Node, b: Node) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb, key=repr)] = min(ra, rb, key=repr)


def _collect(pool: Pool, parent: dict[Node, Node], evidence: dict[int, tuple[Reason, ...]]) -> list[Group]:
    members: dict[Node, tuple[list[int], list[str]]] = {}
    for node in list(parent):
        lines, items = members.setdefault(_find(parent, node), ([], []))
        if node[0] == "l":
            lines.append(int(node[1]))
        else:
            items.append(str(node[1]))
    groups = []
    for lines, items in members.values():
        line_ids, item_ids = sorted(lines), sorted(items)
        reasons = tuple(dict.fromkeys(r for line_id in line_ids for r in evidence[line_id]))
        groups.append(Group(tuple(pool.lines[i] for i in line_ids), tuple(pool.items[i] for i in item_ids),
                            reasons))
    return sorted(groups, key=lambda g: g.lines[0].line_id)
