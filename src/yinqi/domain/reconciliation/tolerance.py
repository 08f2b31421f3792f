"""Tolerances and thresholds of the matching engine, validated on construction.

The defaults are calibrated on the planted-truth generator (bench/recon_generator.py): with them
the engine books no wrong match on 100 k lines. Loosen them only with a new measurement.

>>> MatchPolicy().fee_allows(drift_minor=-250, amount_minor=100_000)
True
>>> MatchPolicy().fee_allows(drift_minor=+250, amount_minor=100_000)  # the bank never pays us a fee
False
"""

from __future__ import annotations

from dataclasses import dataclass

from yinqi.domain.problems import DomainError


class MatchPolicyInvalid(DomainError):
    code = "MATCH_POLICY_INVALID"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    date_window_days: int = 3  # value date vs execution / expected date, either side
    fee_max_minor: int = 5_000  # the most a bank may keep on the way, in minor units ...
    fee_max_bp: int = 200  # ... and at most this share of the item amount (basis points)
    auto_threshold: float = 0.85  # at or above: booked unattended; below: a suggestion
    suggest_floor: float = 0.60  # below: not even suggested
    tie_margin: float = 0.03  # a rival this close makes it a tie for a person
    name_floor: float = 0.70  # counterparty name similarity that counts as evidence
    reference_floor: float = 0.85  # fuzzy reference similarity that counts as evidence
    subset_max_items: int = 24  # 1:N / N:1 subset-sum search: at most this many candidates ...
    subset_node_budget: int = 20_000  # ... and this many search steps
    reference_max_fanout: int = 20  # a text token naming more items than this is not a reference

    def __post_init__(self) -> None:
        checks = [("date_window_days", 0 <= self.date_window_days <= 60),
                  ("fee_max_minor", self.fee_max_minor >= 0), ("fee_max_bp", 0 <= self.fee_max_bp <= 10_000),
                  ("auto_threshold", 0.0 < self.auto_threshold <= 1.0),
                  ("suggest_floor", 0.0 <= self.suggest_floor <= self.auto_threshold),
                  ("tie_margin", 0.0 <= self.tie_margin < 0.5), ("name_floor", 0.0 < self.name_floor <= 1.0),
                  ("reference_floor", 0.0 < self.reference_floor <= 1.0),
                  ("subset_max_items", 1 <= self.subset_max_items <= 64),
                  ("subset_node_budget", 1 <= self.subset_node_budget <= 10_000_000),
                  ("reference_max_fanout", self.reference_max_fanout >= 1)]
        for name, ok in checks:
            if not ok:
                raise MatchPolicyInvalid(f"match policy {name} is out of range: {getattr(self, name)!r}",
                                         where=name, rule="range", value=getattr(self, name))

    def fee_allows(self, *, drift_minor: int, amount_minor: int) -> bool:
        """A drift is a fee when the account shows less than expected, by no more than the limits.

        `drift_minor` is line amount minus the expected signed amount: negative when the bank kept
        money, for debits (we paid more) and credits (we received less) alike.
        """
        fee = -drift_minor
        return 0 < fee <= self.fee_max_minor and fee * 10_000 <= amount_minor * self.fee_max_bp


DEFAULT_POLICY = MatchPolicy()
