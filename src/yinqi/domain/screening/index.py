"""Blocking index over normalised list names: a query touches a few posting lists, never the list.

Each strong token of each listed name is filed under four keys: the token, its consonant skeleton
(vowel drops, Arabic-script transliterations: 'mhmd'), its first three and its last three letters
(a typo or truncation keeps one end). A query looks up the same keys for its own tokens, adds the
inverse document frequency of every key it shares with a name, and keeps the best `limit` names.
Keys held by more than `max_df_share` of the names (four times that for a whole token) carry almost
no information and are skipped, which bounds the work per query whatever the list size. Token
document frequencies double as the rare-token weights the scorer uses.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from yinqi.domain.screening.listing import ListedEntity
from yinqi.domain.screening.normalise import NormalisedName, normalise_name, skeleton

CANDIDATES_MAX = 30


@dataclass(frozen=True, slots=True)
class IndexedName:
    """One name of one entity as the index holds it."""

    entity: ListedEntity
    name: str
    norm: NormalisedName
    weak_alias: bool


def token_keys(token: str) -> tuple[str, ...]:
    """The blocking keys of one token (see module docstring)."""
    keys = [f"t:{token}"]
    skel = skeleton(token)
    if len(skel) >= 2:
        keys.append(f"s:{skel}")
    if len(token) >= 4:
        keys += [f"p:{token[:3]}", f"x:{token[-3:]}"]
    return tuple(keys)


class NameIndex:
    """Immutable after `build`: names, posting lists and token weights of one or more lists."""

    def __init__(self, names: Sequence[IndexedName], max_df_share: float = 0.03) -> None:
        self.names = tuple(names)
        postings: defaultdict[str, list[int]] = defaultdict(list)
        token_df: defaultdict[str, int] = defaultdict(int)
        for i, item in enumerate(self.names):
            for token in set(item.norm.strong):
                token_df[token] += 1
                for key in token_keys(token):
                    postings[key].append(i)
        self._postings = dict(postings)
        self._token_df = dict(token_df)
        n = max(len(self.names), 1)
        self._max_df = max(50, int(n * max_df_share))
        self._log_n = math.log(n + 1)

    @classmethod
    def build(cls, entities: Iterable[ListedEntity]) -> NameIndex:
        names = [IndexedName(e, name, normalise_name(name), weak)
                 for e in entities
                 for name, weak in [(n, False) for n in e.names] + [(n, True) for n in e.weak_aliases]]
        return cls([n for n in names if n.norm.strong])

    def __len__(self) -> int:
        return len(self.names)

    def token_weight(self, token: str) -> float:
        """Rare tokens identify, common ones do not: idf scaled to (0.15, 1]; unknown tokens are rare."""
        df = self._token_df.get(token, 0)
        return max(0.15, math.log((len(self.names) + 1) / (df + 1)) / self._log_n) if df else 1.0

    def candidates(self, query: NormalisedName, limit: int = CANDIDATES_MAX) -> list[IndexedName]:
        """The `limit` names sharing the most informative keys with `query` (best first)."""
        scores: defaultdict[int, float] = defaultdict(float)
        for token in set(query.strong):
            for key in token_keys(token):
                posting = self._postings.get(key)
                if posting is None or len(posting) > self._max_df * (4 if key[0] == "t" else 1):
                    continue
                weight = math.log((len(self.names) + 1) / len(posting))
                for i in posting:
                    scores[i] += weight
        best = heapq.nlargest(limit, scores.items(), key=lambda kv: kv[1])
        return [self.names[i] for i, _ in best]
