"""Channel selection: which configured channel carries an approved payment order, and why.

Every channel is checked against every rule (no short-circuit), so an explanation names all the
reasons a channel was not usable. The rules, each with a stable code:

- UNAVAILABLE: the bank or channel is switched off (outage, maintenance);
- ACCOUNT: the channel belongs to another debtor account;
- CURRENCY: the channel does not carry the order's currency;
- REACH: the channel does not reach the payee's bank country;
- URGENCY: the channel is too slow (an urgent order needs urgent or instant, instant needs instant);
- PAYMENT_LIMIT / DAILY_LIMIT: the amount exceeds the per-payment limit, or the day's limit with
  what is already routed to the channel today;
- CUT_OFF: today's cut-off has passed. An instant order is refused; any other moves to the next
  business day of the order's currency (weekends and that currency's bank holidays, from
  `domain.calendar`) and says so in a note. A requested day that is a holiday moves the same way.

Among the usable channels the order is deterministic: urgency fit, then cost, then name. Losers
get RANKED_LOWER with the comparison that decided it. Time is passed in (`now`, aware); nothing
here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from yinqi.domain import calendar
from yinqi.domain.orders.order import PaymentOrder, Urgency
from yinqi.domain.problems import DomainError
from yinqi.domain.routing.channel import Channel, ChannelType

__all__ = ["NoRoute", "OrderFacts", "Reason", "RouteExplanation", "Verdict", "evaluate", "judge",
           "next_business_day", "route"]

_SEPA = frozenset({
    "AD", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GI", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK", "SM", "VA"})

# urgency → channel types that are fast enough, best fit first; cross-border orders prefer CROSS_BORDER
_FIT: dict[Urgency, tuple[ChannelType, ...]] = {
    Urgency.NORMAL: (ChannelType.BATCH, ChannelType.URGENT, ChannelType.INSTANT, ChannelType.CROSS_BORDER),
    Urgency.URGENT: (ChannelType.URGENT, ChannelType.INSTANT, ChannelType.CROSS_BORDER),
    Urgency.INSTANT: (ChannelType.INSTANT,),
}


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What routing needs to know about an order, and nothing else."""

    order_id: str
    currency: str
    amount_minor: int
    urgency: Urgency
    payer_account_key: str
    payer_country: str
    payee_bank_country: str
    requested_execution_date: date

    @classmethod
    def of(cls, order: PaymentOrder) -> OrderFacts:
        payer, payee = order.payer.account, order.payee
        payer_key = payer.iban.compact if payer.iban else f"{payer.number}@{payer.bank_code}"
        if payee.bic is not None:
            bank_country = payee.bic.value[4:6]
        elif payee.account.iban is not None:
            bank_country = payee.account.iban.country_code
        else:
            bank_country = "CN" if payee.account.domestic is not None else payee.country.value
        return cls(order_id=order.id, currency=order.amount.currency, amount_minor=order.amount.minor,
                   urgency=order.urgency, payer_account_key=payer_key,
                   payer_country=payer.iban.country_code if payer.iban else "CN",
                   payee_bank_country=bank_country, requested_execution_date=order.requested_execution_date)

    @property
    def cross_border(self) -> bool:
        """Outside the payer's clearing zone: another country, except EUR within SEPA."""
        if self.payer_country == self.payee_bank_country:
            return False
        return not (self.currency == "EUR" and {self.payer_country, self.payee_bank_country} <= _SEPA)


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule's finding about one channel: `code` is stable, `message` is for people."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """One channel judged: usable when `rejections` is empty; `notes` hold non-blocking facts."""

    channel: Channel
    rejections: tuple[Reason, ...]
    execution_date: date
    fit: int
    notes: tuple[Reason, ...] = ()

    @property
    def usable(self) -> bool:
        return not self.rejections


@dataclass(frozen=True, slots=True)
class RouteExplanation:
    """The chosen channel (None: no route) and every alternative with why it lost."""

    facts: OrderFacts
    chosen: Verdict | None
    alternatives: tuple[Verdict, ...]


class NoRoute(DomainError):
    """No configured channel can carry the order; `explanation` lists every channel's reasons."""

    code = "NO_ROUTE"

    def __init__(self, explanation: RouteExplanation) -> None:
        reasons = "; ".join(f"{v.channel.name}: {', '.join(r.message for r in v.rejections)}"
                            for v in explanation.alternatives) or "no channel is configured"
        super().__init__(f"no channel can carry order {explanation.facts.order_id}: {reasons}",
                         where="route", rule="no_channel_fits", value=explanation.facts.order_id,
                         details={"channels": {v.channel.name: [r.code for r in v.rejections]
                                               for v in explanation.alternatives}})
        self.explanation = explanation


def route(*, facts: OrderFacts, channels: Iterable[Channel], now: datetime,
          routed_today_minor: Mapping[str, int] | None = None) -> RouteExplanation:
    """The best channel for the order, with every alternative explained.

    Raises:
        NoRoute (NO_ROUTE): no channel passes every rule; the error carries the explanation.
    """
    explanation = evaluate(facts=facts, channels=channels, now=now, routed_today_minor=routed_today_minor)
    if explanation.chosen is None:
        raise NoRoute(explanation)
    return explanation


def evaluate(*, facts: OrderFacts, channels: Iterable[Channel], now: datetime,
             routed_today_minor: Mapping[str, int] | None = None) -> RouteExplanation:
    """Like `route`, but a missing route is data (`chosen` None), for explaining."""
    assert now.tzinfo is not None, "routing needs an aware `now`"
    used = routed_today_minor or {}
    verdicts = [judge(facts, c, now=now, used_minor=used.get(c.name, 0)) for c in channels]
    ranked = sorted((v for v in verdicts if v.usable), key=_rank)
    if not ranked:
        return RouteExplanation(facts, None, tuple(sorted(verdicts, key=lambda v: v.channel.name)))
    best = ranked[0]
    losers = [_ranked_lower(v, best) for v in ranked[1:]]
    rejected = sorted((v for v in verdicts if not v.usable), key=lambda v: v.channel.name)
    return RouteExplanation(facts, best, (*losers, *rejected))


def judge(facts: OrderFacts, channel: Channel, *, now: datetime, used_minor: int = 0) -> Verdict:
    """Every rule applied to one channel."""
    execution_date, timing = _timing(facts, channel, now)
    found = [*_static_rules(facts, channel), *_limit_rules(facts, channel, used_minor)]
    rejections = tuple([*found, *(r for r in timing if r.code == "CUT_OFF")])
    notes = tuple(r for r in timing if r.code != "CUT_OFF")
    return Verdict(channel, rejections, execution_date, _fit(facts, channel), notes)


def _static_rules(facts: OrderFacts, c: Channel) -> list[Reason]:
    checks = [
        (not c.available, "UNAVAILABLE", f"bank {c.bank_id} channel {c.name} is unavailable"),
        (c.account_key is not None and c.account_key != facts.payer_account_key, "ACCOUNT",
         f"channel is for account {c.account_key}, not {facts.payer_account_key}"),
        (c.currencies is not None and facts.currency not in c.currencies, "CURRENCY",
         f"channel carries {', '.join(sorted(c.currencies or ()))}, not {facts.currency}"),
        (c.countries is not None and facts.payee_bank_country not in c.countries, "REACH",
         f"channel does not reach payee banks in {facts.payee_bank_country}"),
        (c.channel_type not in _FIT[facts.urgency], "URGENCY",
         f"a {c.channel_type.value} channel is too slow for a {facts.urgency.value} order"),
    ]
    return [Reason(code, message) for failed, code, message in checks if failed]


def _limit_rules(facts: OrderFacts, c: Channel, used_minor: int) -> list[Reason]:
    reasons = []
    if c.per_payment_limit_minor is not None and facts.amount_minor > c.per_payment_limit_minor:
        reasons.append(Reason("PAYMENT_LIMIT", f"amount {facts.amount_minor} exceeds the per-payment limit "
                                               f"{c.per_payment_limit_minor} (minor units)"))
    if c.daily_limit_minor is not None and used_minor + facts.amount_minor > c.daily_limit_minor:
        reasons.append(Reason("DAILY_LIMIT", f"{used_minor} already routed today + {facts.amount_minor} exceeds "
                                             f"the daily limit {c.daily_limit_minor} (minor units)"))
    return reasons


def _timing(facts: OrderFacts, c: Channel, now: datetime) -> tuple[date, list[Reason]]:
    """The execution date on this channel, and a CUT_OFF rejection or a shift note."""
    local = now.astimezone(c.zone)
    cutoff = c.cutoff_time
    day = max(facts.requested_execution_date, local.date())
    if cutoff is None or day > local.date() or local.time() < cutoff:
        return _business_day_from(day, facts.currency, why=f"{day.isoformat()} is not a business day")
    where = f"cut-off {c.cutoff} {c.zone.key} passed (now {local:%H:%M})"
    if facts.urgency is Urgency.INSTANT:
        return day, [Reason("CUT_OFF", f"{where}: an instant order cannot wait")]
    shifted = next_business_day(local.date(), facts.currency)
    return shifted, [Reason("SHIFTED", f"{where}: executes on the next business day {shifted.isoformat()}")]


def _business_day_from(day: date, currency: str, *, why: str) -> tuple[date, list[Reason]]:
    """`day` itself when the currency's banks work then; else the next such day, with a note."""
    if calendar.is_business_day(day, currency):
        return day, []
    moved = calendar.next_business_day(day, currency)
    return moved, [Reason("SHIFTED", f"{why} for {currency}: executes on {moved.isoformat()}")]


def next_business_day(day: date, currency: str) -> date:
    """The first business day of `currency` strictly after `day` (weekends and bank holidays).

    >>> next_business_day(date(2026, 3, 6), "EUR").isoformat()  # a Friday
    '2026-03-09'
    >>> next_business_day(date(2030, 4, 18), "EUR").isoformat()  # Thursday before Good Friday
    '2030-04-23'
    """
    return calendar.next_business_day(day + timedelta(days=1), currency)


def _fit(facts: OrderFacts, c: Channel) -> int:
    """0 is the best fit; a cross-border order prefers a cross-border channel."""
    order = _FIT[facts.urgency]
    if c.channel_type not in order:
        return len(ChannelType)
    if facts.cross_border and c.channel_type is ChannelType.CROSS_BORDER:
        return -1
    return order.index(c.channel_type)


def _rank(v: Verdict) -> tuple[int, int, str]:
    return (v.fit, v.channel.cost_per_payment_minor, v.channel.name)


def _ranked_lower(v: Verdict, best: Verdict) -> Verdict:
    if v.fit != best.fit:
        why = Reason("RANKED_LOWER", f"a {v.channel.channel_type.value} channel fits this order less well than "
                                     f"{best.channel.name} ({best.channel.channel_type.value})")
    elif v.channel.cost_per_payment_minor != best.channel.cost_per_payment_minor:
        why = Reason("RANKED_LOWER", f"more expensive: {v.channel.cost_per_payment_minor} > "
                                     f"{best.channel.cost_per_payment_minor} at {best.channel.name}")
    else:
        why = Reason("RANKED_LOWER", f"same fit and cost as {best.channel.name}, which sorts first by name")
    return Verdict(v.channel, (why,), v.execution_date, v.fit, v.notes)

