"""The three passes of the engine, each over what the earlier ones left in the pool.

1. Identity: end-to-end id, UETR, bank reference, instruction id, looked up in a hash map. A line
   uses its most specific key kind that names anything (an end-to-end id beats the batch's
   instruction id), so a batch whose lines carry their own ids still resolves 1:1.
2. Amount block: items hashed by (currency, signed amount); a line only meets the items of its
   own block, inside the value-date window, and is scored on name similarity and fuzzy
   remittance (stage 3 of the issue is scored here, inside the amount block). Never O(n·m).
3. References: invoice numbers / serials found verbatim in the line's text, hashed, across
   amounts: batch bookings without ids (1:N), instalments (N:1), fees taken without ids.

Confidence in the amount block is additive evidence, capped below a key match:
0.45 amount and currency + 0.30 × reference similarity + 0.20 × name similarity + 0.05 × date
closeness (each similarity only above its floor). With the default threshold 0.85 a match needs a
reference and a name, or an exact reference and a close name; amount, name and date alone (0.70)
stay a suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from yinqi.domain.reconciliation.components import Resolver, link
from yinqi.domain.reconciliation.model import (
    Direction,
    KeyKind,
    Match,
    OpenItem,
    Reason,
    ReasonCode,
    Rule,
    StatementLine,
    Strategy,
    checked_match,
)
from yinqi.domain.reconciliation.pool import Pool
from yinqi.domain.reconciliation.text import name_similarity, reference_similarity, reference_tokens

KEY_ORDER = tuple(KeyKind)
BLOCK_CAP = 0.99  # without a key the engine is never certain


E2E_EXACT = (Reason(ReasonCode.END_TO_END_ID), Reason(ReasonCode.AMOUNT_EXACT))
E2E_ONLY = E2E_EXACT[:1]
KIND_REASON = {kind: ReasonCode(kind.name) for kind in KeyKind}
NOT_PROVIDED = "NOTPROVIDED"


def match_identity(pool: Pool) -> None:
    """Stage 1. Written for speed: one dict probe per end-to-end id, and a line that is the only
    one naming its item, with the exact amount, is booked at once without building a group."""
    index = _key_index(pool)
    e2e, items, out = index[KeyKind.END_TO_END_ID], pool.items, Direction.OUT
    fast: dict[str, Match] = {}  # item id -> exact 1:1, unless another line names the item too
    hits: dict[int, tuple[str, ...]] = {}
    evidence: dict[int, tuple[Reason, ...]] = {}
    for line_id, line in pool.lines.items():
        ids = line.end_to_end_ids
        found = e2e.get(ids[0]) if len(ids) == 1 else None
        if found is not None and len(found) == 1:
            item_id = found[0]
            item = items[item_id]
            expected = -item.amount_minor if item.direction is out else item.amount_minor
            if item_id not in fast and line.amount_minor == expected and line.currency == item.currency:
                fast[item_id] = Match((line_id,), (item_id,), Rule.IDENTITY, Strategy.ONE_TO_ONE, 1.0, E2E_EXACT,
                                      0, True)
                continue
            hits[line_id], evidence[line_id] = (item_id,), E2E_ONLY
        else:
            _general_hits(line, index, hits, evidence)
    for item_id in {i for ids in hits.values() for i in ids}.intersection(fast):  # named twice: a group
        match = fast.pop(item_id)
        hits[match.line_ids[0]], evidence[match.line_ids[0]] = match.item_ids, E2E_ONLY
    pool.book_pairs(fast.values())
    resolver = Resolver(pool, Rule.IDENTITY, 1.0, strict=True)
    for group in link(pool, hits, evidence):
        resolver.resolve(group)


def _key_index(pool: Pool) -> dict[KeyKind, dict[str, list[str]]]:
    """Item ids by key value, one hash map per key kind (attribute reads, no per-item tuples)."""
    index: dict[KeyKind, dict[str, list[str]]] = {}
    for kind, name in ((KeyKind.END_TO_END_ID, "end_to_end_id"), (KeyKind.UETR, "uetr"),
                       (KeyKind.BANK_REFERENCE, "bank_reference"), (KeyKind.INSTRUCTION_ID, "instruction_id")):
        by_value: dict[str, list[str]] = {}
        get = attrgetter(name)
        for value, item_id in [(get(i), i.item_id) for i in pool.items.values() if get(i)]:
            if value != NOT_PROVIDED:
                by_value.setdefault(value, []).append(item_id)
        index[kind] = by_value
    return index


def _general_hits(line: StatementLine, index: dict[KeyKind, dict[str, list[str]]],
                  hits: dict[int, tuple[str, ...]], evidence: dict[int, tuple[Reason, ...]]) -> bool:
    """The most specific key kind of the line that names anything (an end-to-end id beats the
    instruction id its whole batch shares)."""
    keys = line.keys()
    for kind in KEY_ORDER:
        by_value = index[kind]
        named = [(v, by_value[v]) for k, v in keys if k is kind and v in by_value]
        if named:
            hits[line.line_id] = tuple(dict.fromkeys(i for _, ids in named for i in ids))
            evidence[line.line_id] = tuple(Reason(KIND_REASON[kind], v) for v, _ in named)
            return True
    return False


@dataclass(frozen=True, slots=True)
class Candidate:
    confidence: float
    item_id: str
    reasons: tuple[Reason, ...]


def score(line: StatementLine, item: OpenItem, refs: tuple[str, ...], pool: Pool) -> Candidate | None:
    """Evidence for one same-amount candidate, or None outside the date window."""
    policy = pool.policy
    window = policy.date_window_days
    days = abs((line.date - item.due_date).days) if line.date and item.due_date else window
    if days > window:
        return None
    reasons = [Reason(ReasonCode.AMOUNT_EXACT), Reason(ReasonCode.VALUE_DATE_IN_WINDOW, str(days))]
    name = name_similarity(line.counterparty_name, item.counterparty_name)
    ref = reference_similarity(refs, reference_tokens(line.remittance))
    name_ev = name if name >= policy.name_floor else 0.0
    ref_ev = ref if ref >= policy.reference_floor else 0.0
    if name_ev:
        reasons.append(Reason(ReasonCode.NAME_SIMILAR, f"{name:.2f}"))
    if ref_ev:
        reasons.append(Reason(ReasonCode.REFERENCE_EXACT if ref_ev == 1.0 else ReasonCode.REFERENCE_FUZZY,
                              f"{ref:.2f}"))
    confidence = 0.45 + 0.30 * ref_ev + 0.20 * name_ev + 0.05 * (1 - days / (window + 1))
    return Candidate(round(min(BLOCK_CAP, confidence), 4), item.item_id, tuple(reasons))


def match_amount_block(pool: Pool) -> None:
    index: dict[tuple[str, int], list[OpenItem]] = {}
    for item in pool.items.values():
        index.setdefault((item.currency, item.signed_minor), []).append(item)
    refs: dict[str, tuple[str, ...]] = {}
    ranked: dict[int, list[Candidate]] = {}
    for line in pool.lines.values():
        block = index.get((line.currency, line.amount_minor or 0))
        if not block:
            continue
        found = [c for item in _in_window(line, block, pool.policy.date_window_days)
                 if (c := score(line, item, _refs(item, refs), pool)) is not None
                 and c.confidence >= pool.policy.suggest_floor]
        if found:
            ranked[line.line_id] = sorted(found, key=lambda c: (-c.confidence, c.item_id))
    _assign(pool, ranked)


def _in_window(line: StatementLine, block: list[OpenItem], window: int) -> list[OpenItem]:
    """Cheap date filter before any text is tokenised or compared."""
    when = line.value_date or line.booking_date
    if when is None:
        return block
    return [i for i in block if i.due_date is None or abs((when - i.due_date).days) <= window]


def _refs(item: OpenItem, cache: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if item.item_id not in cache:
        cache[item.item_id] = tuple(dict.fromkeys(t for r in item.references for t in reference_tokens(r)))
    return cache[item.item_id]


def _assign(pool: Pool, ranked: dict[int, list[Candidate]]) -> None:
    """Best candidates first; a rival within the tie margin, on either side, sends both to a person."""
    margin = pool.policy.tie_margin
    claims: dict[str, list[tuple[float, int]]] = {}
    for line_id, cands in ranked.items():
        claims.setdefault(cands[0].item_id, []).append((cands[0].confidence, line_id))
    for line_id in sorted(ranked, key=lambda i: (-ranked[i][0].confidence, i)):
        if line_id not in pool.lines:
            continue
        top, rest = ranked[line_id][0], ranked[line_id][1:]
        if top.item_id not in pool.items:
            continue
        rival_items = [c.item_id for c in rest if top.confidence - c.confidence < margin and c.item_id in pool.items]
        rival_lines = [i for conf, i in claims[top.item_id]
                       if i != line_id and i in pool.lines and top.confidence - conf < margin]
        if rival_items or rival_lines:
            _tie(pool, tuple(sorted([line_id, *rival_lines])), tuple(sorted([top.item_id, *rival_items])), top)
            continue
        match = checked_match((line_id,), (top.item_id,), Rule.AMOUNT_BLOCK, Strategy.ONE_TO_ONE, top.confidence,
                      top.reasons, auto=top.confidence >= pool.policy.auto_threshold)
        pool.decide(match) if match.auto else pool.suggest(match)


def _tie(pool: Pool, line_ids: tuple[int, ...], item_ids: tuple[str, ...], top: Candidate) -> None:
    rivals = Reason(ReasonCode.TIE, f"lines {','.join(map(str, line_ids))} items {','.join(item_ids)}")
    pool.decide(checked_match(line_ids, item_ids, Rule.AMOUNT_BLOCK, Strategy.ONE_TO_ONE, top.confidence,
                      (*top.reasons, rivals), auto=False))


def match_references(pool: Pool) -> None:
    index: dict[str, list[str]] = {}
    refs: dict[str, tuple[str, ...]] = {}
    for item in pool.items.values():
        for token in _refs(item, refs):
            index.setdefault(token, []).append(item.item_id)
    fanout = pool.policy.reference_max_fanout
    hits: dict[int, tuple[str, ...]] = {}
    evidence: dict[int, tuple[Reason, ...]] = {}
    for line in pool.lines.values():
        named = [(t, index[t]) for t in reference_tokens(line.remittance) if 0 < len(index.get(t, ())) <= fanout]
        if named:
            hits[line.line_id] = tuple(dict.fromkeys(i for _, ids in named for i in ids))
            evidence[line.line_id] = tuple(Reason(ReasonCode.REFERENCE_EXACT, t) for t, _ in named)
    resolver = Resolver(pool, Rule.REFERENCE, 0.90, strict=False)
    for group in link(pool, hits, evidence):
        resolver.resolve(group)
