"""Screening quality metrics on labelled queries: precision, recall, false-positive rate, ROC-AUC.

A labelled case is a positive (it names the entity that must be hit) or a negative (nothing may be
hit). A positive counts as found only when the decision is not clear *and* the expected entity is
among the hits; a negative is a false positive when the decision is not clear. ROC-AUC ranks the
score of the expected entity (positives) against the top score (negatives), by Mann-Whitney U with
ties counted half, the same definition as scikit-learn's `roc_auc_score`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    group: str
    positive: bool
    flagged: bool  # decision was review or block
    found: bool  # positive: the expected entity was among the flagged hits
    score: float


@dataclass(frozen=True, slots=True)
class Metrics:
    cases: int
    positives: int
    negatives: int
    precision: float | None
    recall: float | None
    false_positive_rate: float | None
    roc_auc: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"cases": self.cases, "positives": self.positives, "negatives": self.negatives,
                "precision": self.precision, "recall": self.recall,
                "false_positive_rate": self.false_positive_rate, "roc_auc": self.roc_auc}


def roc_auc(positive_scores: list[float], negative_scores: list[float]) -> float | None:
    """Probability that a random positive outranks a random negative (ties count half)."""
    if not positive_scores or not negative_scores:
        return None
    ranked = sorted([(s, 1) for s in positive_scores] + [(s, 0) for s in negative_scores])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # average 1-based rank of the tie block
        rank_sum += mid_rank * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positive_scores), len(negative_scores)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def metrics(outcomes: Iterable[Outcome]) -> Metrics:
    items = list(outcomes)
    pos = [o for o in items if o.positive]
    neg = [o for o in items if not o.positive]
    tp = sum(o.found for o in pos)
    fp = sum(o.flagged for o in neg)
    flagged_pos = sum(o.flagged for o in pos)
    return Metrics(cases=len(items), positives=len(pos), negatives=len(neg),
                   precision=_ratio(tp, flagged_pos + fp), recall=_ratio(tp, len(pos)),
                   false_positive_rate=_ratio(fp, len(neg)),
                   roc_auc=roc_auc([o.score for o in pos], [o.score for o in neg]))


def metrics_by_group(outcomes: Iterable[Outcome]) -> dict[str, Metrics]:
    """Overall metrics under 'all', then one entry per group (e.g. perturbation family)."""
    items = list(outcomes)
    groups: defaultdict[str, list[Outcome]] = defaultdict(list)
    for o in items:
        groups[o.group].append(o)
    return {"all": metrics(items), **{g: metrics(v) for g, v in sorted(groups.items())}}
