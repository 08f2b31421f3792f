"""Properties over generated sets: order of input never matters, nothing is used twice, and the
planted truth is recovered (precision of automatic matches and recall, a test that can fail)."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.recon_generator import evaluate, generate, wrong_matches
from yinqi.domain.reconciliation.engine import match_statement


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), shuffle=st.randoms(use_true_random=False), n=st.integers(20, 300))
def test_the_same_input_in_any_order_gives_the_same_result(seed: int, shuffle: random.Random, n: int) -> None:
    planted = generate(n, seed=seed)
    lines, items = list(planted.lines), list(planted.items)
    shuffle.shuffle(lines)
    shuffle.shuffle(items)
    assert match_statement(lines=lines, items=items) == match_statement(lines=planted.lines, items=planted.items)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 300))
def test_each_line_and_each_item_is_used_at_most_once_and_confidence_is_in_range(seed: int, n: int) -> None:
    planted = generate(n, seed=seed)
    result = match_statement(lines=planted.lines, items=planted.items)
    decided = [*result.matches, *result.suggestions]
    line_ids = [i for m in decided for i in m.line_ids] + [i for d in result.discrepancies for i in d.line_ids]
    item_ids = [i for m in decided for i in m.item_ids] + [i for d in result.discrepancies for i in d.item_ids]
    assert len(line_ids) == len(set(line_ids)) and len(item_ids) == len(set(item_ids))
    assert set(line_ids).isdisjoint(result.unmatched_line_ids) and set(item_ids).isdisjoint(result.unmatched_item_ids)
    assert all(0.0 <= m.confidence <= 1.0 and m.reasons for m in decided)
    assert all(not m.auto for m in result.suggestions) and all(m.auto for m in result.matches)


def test_on_5000_planted_lines_auto_matches_are_right_and_almost_all_pairs_are_found() -> None:
    planted = generate(5_000, seed=20260105)
    result = match_statement(lines=planted.lines, items=planted.items)
    score = evaluate(result, planted)
    assert score["precision"] >= 0.9995, wrong_matches(result, planted)[:5]
    assert score["recall"] >= 0.99, score
    kinds = {planted.kinds[line_id] for m in result.matches for line_id in m.line_ids}
    assert {"exact", "mangled", "fee", "batch", "instalment"} <= kinds  # every strategy contributed
