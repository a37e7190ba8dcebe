"""Allow / Block / Custom list matching of a reported plate."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from ..scenario.model import Lists

LIST_NAMES = (("block", "Block list"), ("allow", "Allow list"), ("custom", "Custom list"))
NO_MATCH = ("", "", "")
SOFT_MAX_DIFFERENCES = 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 as soon as it must exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        best = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(value)
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous = current
    return previous[-1]


class ListMatcher:
    """(plateList, plateListMode, plateListDescription) for a reported text.

    An exact match wins over a soft one; then fewer differences; then the
    list order Block, Allow, Custom (the safe answer when a plate is on two lists).
    """

    def __init__(self, lists: Lists, normalise: Callable[[str], str]):
        self.strict = lists.strict
        self.entries = [
            (normalise(entry.plate), name, mode, entry.description)
            for mode, name in LIST_NAMES
            for entry in getattr(lists, mode)
        ]
        # bounded, so a day of traffic does not grow memory with every plate seen
        self.match: Callable[[str], tuple[str, str, str]] = (
            lru_cache(maxsize=4096)(self._match) if self.entries else (lambda text: NO_MATCH)
        )

    def _match(self, text: str) -> tuple[str, str, str]:
        limit = 0 if self.strict else SOFT_MAX_DIFFERENCES
        best = None
        for order, (plate, name, mode, description) in enumerate(self.entries):
            distance = 0 if plate == text else edit_distance(plate, text, limit)
            if distance <= limit and (best is None or (distance, order) < best[0]):
                best = ((distance, order), (name, mode, description))
        return best[1] if best else NO_MATCH
