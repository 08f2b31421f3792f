"""Bounded subset-sum: which of a few named amounts add up to a booked total.

Used for 1:N (one line for a batch of orders, some of which the bank rejected) and N:1 (several
instalments for one item). The search is depth-first over at most `max_items` amounts with a step
budget, and it stops at the second solution: the engine only needs to know "none", "exactly this
one" or "more than one" (a tie for a person). Running out of budget counts as "more than one",
never as a match.

>>> subsets_summing_to([500, 300, 200], 800, max_items=8, node_budget=1000)
((0, 1),)
>>> len(subsets_summing_to([100, 100, 200], 200, max_items=8, node_budget=1000))
2
"""

from __future__ import annotations

Solutions = tuple[tuple[int, ...], ...]
AMBIGUOUS: Solutions = ((), ())  # sentinel: two (unknown) solutions, the search gave up


def subsets_summing_to(amounts: list[int], target: int, *, max_items: int, node_budget: int) -> Solutions:
    """Up to two index subsets of `amounts` (all of one sign) whose sum is exactly `target`."""
    if len(amounts) > max_items or not amounts:
        return AMBIGUOUS if amounts else ()
    order = sorted(range(len(amounts)), key=lambda i: (-abs(amounts[i]), i))
    values = [abs(amounts[i]) for i in order]
    goal = abs(target)
    suffix = [0] * (len(values) + 1)
    for i in range(len(values) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + values[i]
    found: list[tuple[int, ...]] = []
    budget = [node_budget]
    _search(values, suffix, goal, 0, [], found, budget)
    if budget[0] <= 0 and len(found) < 2:
        return AMBIGUOUS
    return tuple(tuple(sorted(order[i] for i in chosen)) for chosen in found)


def _search(values: list[int], suffix: list[int], remaining: int, start: int, chosen: list[int],
            found: list[tuple[int, ...]], budget: list[int]) -> None:
    if remaining == 0 and chosen:
        found.append(tuple(chosen))
        return
    for i in range(start, len(values)):
        budget[0] -= 1
        if budget[0] <= 0 or len(found) >= 2 or suffix[i] < remaining:
            return
        if values[i] <= remaining:
            chosen.append(i)
            _search(values, suffix, remaining - values[i], i + 1, chosen, found, budget)
            chosen.pop()
