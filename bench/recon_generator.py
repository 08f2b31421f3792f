"""Planted-truth reconciliation sets: statement lines, open items and which line pays which item.

`generate(n_lines, seed=…)` builds a set whose shares of statement lines follow BENCHMARKS.md B5:

| kind          | share | what the line looks like                                                     |
| ------------- | ----- | ---------------------------------------------------------------------------- |
| exact         | 90 %  | the order's end-to-end id, its amount and currency, value date 0–1 day later |
| mangled       |  5 %  | end-to-end id lost (NOTPROVIDED) or typed wrong, invoice number with a typo  |
|               |       | in the remittance text, value date shifted up to ±3 days, name variant       |
| fee           |  2 %  | amount = order + a bank fee within tolerance; 1 in 4 also lost its id        |
| batch         |  2 %  | one debit for 2–6 orders (a pain.001 batch): carries either every            |
|               |       | end-to-end id or only the batch's PmtInfId; 1 in 5 misses one rejected order |
| no_counterpart|  1 %  | a debit the hub never ordered (random amount, name, reference)               |

On top of those lines (not counted in the shares): unrelated lines (interest and customer credits,
account charges, about 2 % of n), re-sent duplicate lines with the same bank reference (0.2 %),
incoming expected receipts paid in 2–3 instalments (N:1, 0.3 %), orders entered twice by the ERP
(the copy never paid, 0.5 %) and orders not booked yet (3 %). Amounts are log-normal around
1,500.00 with 15 % round amounts, and about one payee in ten is paid the same amount each month,
so amount blocks hold genuine rivals. Counterparties come from a pool of 5,000 names.

Everything derives from `random.Random(seed)`: the same seed gives the same set, byte for byte.
`evaluate(result, planted)` scores a `MatchResult` on (line, item) pairs: precision on auto
matches, recall against every planted pair.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date, timedelta

from yinqi.domain.reconciliation.model import Direction, MatchResult, OpenItem, StatementLine

START = date(2026, 1, 5)
CURRENCIES = (("EUR", 0.7), ("USD", 0.2), ("CNY", 0.1))
SHARES = (("exact", 0.90), ("mangled", 0.05), ("fee", 0.02), ("batch", 0.02), ("no_counterpart", 0.01))
_SYLLABLES = ("ka", "lo", "mi", "ra", "te", "vo", "sun", "bel", "tor", "an", "shi", "hua", "de", "ner", "qu")
_WORDS = ("Trading", "Logistics", "Systems", "Foods", "Metals", "Textiles", "Energy", "Pharma", "Tools")
_SUFFIX = ("GmbH", "Ltd", "AG", "SA", "Co., Ltd.", "Inc", "BV", "")


@dataclass
class PlantedSet:
    lines: list[StatementLine] = field(default_factory=list)
    items: list[OpenItem] = field(default_factory=list)
    truth: set[tuple[int, str]] = field(default_factory=set)  # (line_id, item_id) that belong together
    kinds: dict[int, str] = field(default_factory=dict)  # line_id -> planted kind


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.out = PlantedSet()
        self.names = [self._name() for _ in range(5000)]
        self.recurring = {i: self._amount() for i in range(0, 5000, 10)}  # payee -> monthly amount
        self.invoices: set[str] = set()

    # --- building blocks -----------------------------------------------------------------
    def _name(self) -> str:
        stem = "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 3))).capitalize()
        return f"{stem} {self.rng.choice(_WORDS)} {self.rng.choice(_SUFFIX)}".strip()

    def _amount(self) -> int:
        minor = int(min(1e9, max(100, self.rng.lognormvariate(11.9, 1.4))))
        return max(10_000, minor // 10_000 * 10_000) if self.rng.random() < 0.15 else minor

    def _currency(self) -> str:
        return self.rng.choices([c for c, _ in CURRENCIES], [w for _, w in CURRENCIES])[0]

    def _hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def _invoice(self) -> str:
        while (ref := f"INV-{self.rng.randint(2024, 2026)}-{self.rng.randint(0, 99_999_999):08d}") in self.invoices:
            pass
        self.invoices.add(ref)
        return ref

    def _typo(self, text: str) -> str:
        chars = list(text)
        at = self.rng.randrange(4, len(chars) - 1)
        how = self.rng.randrange(3)
        if how == 0:  # substitute
            chars[at] = self.rng.choice(string.digits if chars[at].isdigit() else string.ascii_uppercase)
        elif how == 1:  # drop
            del chars[at]
        else:  # transpose
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        return "".join(chars)

    def _name_variant(self, name: str) -> str:
        words = name.split()
        variant = " ".join(words[:2]) if self.rng.random() < 0.5 else name.upper()
        return self._typo(variant) if self.rng.random() < 0.3 and len(variant) > 8 else variant

    def _line_id(self) -> int:
        return len(self.out.lines) + 1

    def item(self, *, direction: Direction = Direction.OUT, payee: int | None = None, amount: int | None = None,
             currency: str | None = None, due: date | None = None, batch: str | None = None) -> OpenItem:
        payee = self.rng.randrange(5000) if payee is None else payee
        if amount is None:
            amount = self.recurring.get(payee) if self.rng.random() < 0.5 else None
        item = OpenItem(
            item_id=f"I{len(self.out.items) + 1:07d}", direction=direction,
            amount_minor=amount or self._amount(), currency=currency or self._currency(),
            due_date=due or START + timedelta(days=self.rng.randrange(60)),
            end_to_end_id=f"E2E{self._hex(20)}" if direction is Direction.OUT else None,
            instruction_id=batch, counterparty_name=self.names[payee],
            references=(self._invoice(), f"PO{self.rng.randint(10**7, 10**8 - 1)}"))
        self.out.items.append(item)
        return item

    def line(self, kind: str, amount: int, currency: str, when: date | None, *, e2e: tuple[str, ...] = (),
             name: str | None = None, text: str | None = None, pays: tuple[str, ...] = (),
             instruction: str | None = None, ref: str | None = None) -> StatementLine:
        line_id = self._line_id()
        line = StatementLine(line_id, amount, currency, "BOOK", when, when, e2e,
                             bank_reference=ref or f"BR{line_id:09d}", instruction_id=instruction,
                             counterparty_name=name, remittance=text)
        self.out.lines.append(line)
        self.out.kinds[line_id] = kind
        self.out.truth.update((line_id, item_id) for item_id in pays)
        return line

    def _shift(self, item: OpenItem, days: int) -> date:
        assert item.due_date is not None
        return item.due_date + timedelta(days=days)

    # --- planted kinds ---------------------------------------------------------------------
    def exact(self) -> None:
        item = self.item()
        assert item.end_to_end_id
        self.line("exact", item.signed_minor, item.currency, self._shift(item, self.rng.randint(0, 1)),
                  e2e=(item.end_to_end_id,), name=item.counterparty_name,
                  text=f"{item.references[0]} {item.references[1]}", pays=(item.item_id,))

    def mangled(self) -> None:
        item = self.item()
        assert item.end_to_end_id
        e2e = "NOTPROVIDED" if self.rng.random() < 0.5 else self._typo(item.end_to_end_id)
        self.line("mangled", item.signed_minor, item.currency, self._shift(item, self.rng.randint(-3, 3)),
                  e2e=(e2e,), name=self._name_variant(item.counterparty_name or ""),
                  text=f"Payment {self._typo(item.references[0])}", pays=(item.item_id,))

    def fee(self) -> None:
        item = self.item()
        assert item.end_to_end_id
        fee = max(1, min(self.rng.randint(100, 2_500), item.amount_minor * 150 // 10_000))
        keyed = self.rng.random() < 0.75
        self.line("fee", item.signed_minor - fee, item.currency, self._shift(item, self.rng.randint(0, 2)),
                  e2e=(item.end_to_end_id if keyed else "NOTPROVIDED",), name=item.counterparty_name,
                  text=f"{item.references[0]}", pays=(item.item_id,))

    def batch(self) -> None:
        pmtinf = f"PMTINF-{self._hex(12)}"
        due = START + timedelta(days=self.rng.randrange(60))
        currency = self._currency()
        items = [self.item(currency=currency, due=due, batch=pmtinf) for _ in range(self.rng.randint(2, 6))]
        booked = items[:-1] if self.rng.random() < 0.2 else items  # one rejected, still open here
        with_ids = self.rng.random() < 0.5
        self.line("batch", sum(i.signed_minor for i in booked), currency, due,
                  e2e=tuple(i.end_to_end_id or "" for i in booked) if with_ids else (),
                  instruction=None if with_ids else pmtinf, name=None, text=f"BATCH {pmtinf}",
                  pays=tuple(i.item_id for i in booked))

    def no_counterpart(self) -> None:
        self.line("no_counterpart", -self._amount(), self._currency(), START + timedelta(days=self.rng.randrange(60)),
                  e2e=(f"E2E{self._hex(20)}",), name=self.rng.choice(self.names), text=f"REF {self._hex(10)}")

    def unrelated(self) -> None:
        when = START + timedelta(days=self.rng.randrange(60))
        if self.rng.random() < 0.5:
            self.line("unrelated", self._amount(), self._currency(), when, name=self.rng.choice(self.names),
                      text=f"Customer payment {self._hex(8)}")
        else:
            self.line("unrelated", -self.rng.randint(100, 5_000), self._currency(), when, name="Bank",
                      text="Account maintenance charge")

    def instalments(self) -> None:
        item = self.item(direction=Direction.IN)
        parts = self.rng.randint(2, 3)
        cuts = sorted(self.rng.sample(range(1, item.amount_minor), parts - 1)) if item.amount_minor > parts else []
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, item.amount_minor], strict=True)]
        for k, amount in enumerate(amounts):
            self.line("instalment", amount, item.currency, self._shift(item, 7 * k), name=item.counterparty_name,
                      text=f"Instalment {k + 1} {item.references[0]}", pays=(item.item_id,))

    def duplicate_line(self) -> None:
        source = self.rng.choice([x for x in self.out.lines[-50:] if self.out.kinds[x.line_id] == "exact"])
        self.line("duplicate", source.amount_minor or 0, source.currency, source.value_date,
                  e2e=source.end_to_end_ids, name=source.counterparty_name, text=source.remittance,
                  ref=source.bank_reference)

    def duplicate_item(self) -> None:
        source = self.rng.choice(self.out.items[-50:])
        copy = OpenItem(f"I{len(self.out.items) + 1:07d}", source.direction, source.amount_minor, source.currency,
                        source.due_date, f"E2E{self._hex(20)}", counterparty_name=source.counterparty_name,
                        references=source.references)
        self.out.items.append(copy)


def generate(n_lines: int, *, seed: int = 20260105) -> PlantedSet:
    """About `n_lines` planted lines plus the extras listed in the module docstring."""
    b = _Builder(seed)
    plan = [kind for kind, share in SHARES for _ in range(round(n_lines * share))]
    b.rng.shuffle(plan)
    for k, kind in enumerate(plan):
        getattr(b, kind)()
        if k % 500 == 499:
            b.duplicate_line()
        if k % 200 == 199:
            b.duplicate_item()
        if k % 333 == 332:
            b.instalments()
        if k % 50 == 49:
            b.unrelated()
        if k % 33 == 32:
            b.item()  # ordered, not booked yet
    return b.out


def evaluate(result: MatchResult, planted: PlantedSet) -> dict[str, float]:
    """Pair-level precision of auto matches and recall against every planted pair."""
    auto = {(line, item) for m in result.matches for line in m.line_ids for item in m.item_ids}
    suggested = {(line, item) for m in result.suggestions for line in m.line_ids for item in m.item_ids}
    correct = auto & planted.truth
    return {"auto_pairs": len(auto), "correct_pairs": len(correct), "truth_pairs": len(planted.truth),
            "precision": len(correct) / len(auto) if auto else 1.0,
            "recall": len(correct) / len(planted.truth) if planted.truth else 1.0,
            "suggested_true_pairs": len(suggested & planted.truth), "wrong_pairs": len(auto - planted.truth)}


def wrong_matches(result: MatchResult, planted: PlantedSet) -> list[tuple[str, object]]:
    """Auto matches that pair anything the truth does not: for diagnosing a precision drop."""
    return [(planted.kinds.get(m.line_ids[0], "?"), m) for m in result.matches
            if any((line, item) not in planted.truth for line in m.line_ids for item in m.item_ids)]
