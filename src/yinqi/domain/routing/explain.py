"""A routing decision as data (for the API and `--json`) and as lines of text (for people).

The JSON shape is a contract shared by `yinqi route explain --json`, `GET
/api/v1/payment-orders/{id}/route` and the console: `{"order_id", "chosen": channel | null,
"alternatives": [channel + "reasons"]}`, where a channel is `{"name", "bank_id", "channel_type",
"account_key", "execution_date", "cost_per_payment_minor", "notes"}` and a reason is
`{"code", "message"}`. Alternatives come in decision order: outranked channels first, then the
rejected ones by name.
"""

from __future__ import annotations

from typing import Any

from yinqi.domain.routing.rules import Reason, RouteExplanation, Verdict

__all__ = ["explanation_dict", "explanation_lines"]


def _reasons(reasons: tuple[Reason, ...]) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message} for r in reasons]


def _channel(v: Verdict) -> dict[str, Any]:
    c = v.channel
    return {"name": c.name, "bank_id": c.bank_id, "channel_type": c.channel_type.value,
            "account_key": c.account_key, "execution_date": v.execution_date.isoformat(),
            "cost_per_payment_minor": c.cost_per_payment_minor, "notes": _reasons(v.notes)}


def explanation_dict(explanation: RouteExplanation) -> dict[str, Any]:
    """The JSON-ready form of a decision."""
    chosen = explanation.chosen
    return {"order_id": explanation.facts.order_id,
            "chosen": _channel(chosen) if chosen is not None else None,
            "alternatives": [{**_channel(v), "reasons": _reasons(v.rejections)} for v in explanation.alternatives]}


def explanation_lines(explanation: RouteExplanation) -> list[str]:
    """One line for the choice, one per alternative with its reasons."""
    f, chosen = explanation.facts, explanation.chosen
    head = (f"order {f.order_id}: {f.amount_minor} {f.currency} (minor units), {f.urgency.value}, "
            f"from {f.payer_account_key} to a bank in {f.payee_bank_country}")
    if chosen is None:
        lines = [head, "NO ROUTE: no configured channel can carry this order"]
    else:
        notes = "".join(f"; {n.message}" for n in chosen.notes)
        lines = [head, f"chosen: {chosen.channel.name} ({chosen.channel.bank_id}, "
                       f"{chosen.channel.channel_type.value}) on {chosen.execution_date.isoformat()}{notes}"]
    lines += [f"  not {v.channel.name} ({v.channel.bank_id}): {'; '.join(r.message for r in v.rejections)}"
              for v in explanation.alternatives]
    return lines
