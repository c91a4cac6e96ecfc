"""Round-robin order of one model's keys, kept across rebuilds (add, edit, delete)."""
from __future__ import annotations

import itertools


class Ring:
    """One model's keys in rotation order, with the cycle the rotation draws from."""

    def __init__(self, keys: list, old: "Ring | None" = None):
        self.keys = keys
        # Restart the cycle where the old one would have gone on, so a rebuild (add, edit,
        # delete) neither repeats nor skips anyone's turn.
        ids = [k.id for k in keys]
        start = next_turn(ids, old)
        self.cycle = itertools.cycle(keys[start:] + keys[:start])
        # The key served last (kept while it exists), else the one whose turn is next:
        # what the next rebuild resumes from, however many rebuilds come in between.
        self.last: str | None = old.last if old is not None and old.last in ids else None
        self.upcoming: str | None = keys[start].id if old is not None else None

    def take(self, wanted):
        """The next key in turn for which `wanted(key)` holds, or None after a full round."""
        for _ in range(len(self.keys)):
            key = next(self.cycle)
            if wanted(key):
                self.last, self.upcoming = key.id, None
                return key
        return None


def next_turn(ids: list[str], old: Ring | None) -> int:
    """Index in `ids` of the key whose turn is next in the old ring."""
    if old is None:
        return 0
    if old.last is not None and old.last in ids:
        return (ids.index(old.last) + 1) % len(ids)
    if old.last is None and old.upcoming in ids:
        return ids.index(old.upcoming)
    # That key is gone: the turn passes to the next one of the old order still here.
    old_ids = [k.id for k in old.keys]
    gone = old.last if old.last is not None else old.upcoming
    if gone in old_ids:
        at = old_ids.index(gone)
        after = old_ids[at + 1:] + old_ids[:at] if old.last is not None else \
            old_ids[at:] + old_ids[:at]
        present = set(ids)
        for key_id in after:
            if key_id in present:
                return ids.index(key_id)
    return 0


def rings_by_model(keys, old: dict) -> dict:
    """A Ring per model over `keys`, each resuming its old ring's turn."""
    by_model: dict[str, list] = {}
    for key in keys:
        by_model.setdefault(key.model, []).append(key)
    return {model: Ring(members, old.get(model)) for model, members in by_model.items()}
