"""A k-of-n vote per track id (the per-person smoothing of crop classifiers)."""
from __future__ import annotations

import logging
from typing import Any, Sequence

log = logging.getLogger(__name__)

from ..postprocess import KofNVote


class TrackVotes:
    """A :class:`~actkit.streaming.postprocess.KofNVote` per track id; ended tracks are forgotten.

    Args:
        rules: ``[(k, n), ...]`` or ``"3/7,3/4"``.
    """

    def __init__(self, rules: Sequence[tuple[int, int]] | str = ((3, 7), (3, 4))) -> None:
        self.rules = rules
        self._votes: dict[Any, KofNVote] = {}

    def update(self, track_id: Any, positive: bool) -> bool:
        v = self._votes.get(track_id)
        if v is None:
            v = self._votes[track_id] = KofNVote(self.rules)
        return v.update(positive)

    def forget(self, track_ids: Sequence[Any]) -> None:
        for i in track_ids:
            self._votes.pop(i, None)

    def __len__(self) -> int:
        return len(self._votes)
