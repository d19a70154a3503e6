"""Where a survey stands, source by source: each source's state (unseen, in progress, retired, flagged for
the experts, decided by one) and how sure its answer is — what the admin's survey map draws.

:func:`source_states` is a pure function over arrays; :class:`SurveyStates` (``Project.survey``) reads the
answers and the expert queue once and builds the table.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from .config import Settings
from .consensus import run_consensus
from .retirement import answer_confidence, retired

STATES = ("unseen", "in progress", "retired", "flagged", "decided")


def source_states(n_classifications: np.ndarray, retired_mask: np.ndarray, flagged: np.ndarray,
                  decided: np.ndarray) -> np.ndarray:
    """Index into :data:`STATES` of each source: an expert's decision first, then a flag waiting for one,
    then retired, answered at all, or not yet."""
    state = np.where(np.asarray(n_classifications) > 0, 1, 0)
    state = np.where(retired_mask, 2, state)
    state = np.where(flagged, 3, state)
    return np.where(decided, 4, state).astype(np.int8)


class SurveyStates:
    """Every source's position, state, answers and answer confidence, from the project's current answers."""

    def __init__(self, answers: Callable[[], tuple], settings: Settings, expert_queue: Callable[[], list]):
        self._answers, self._settings, self._expert_queue = answers, settings, expert_queue

    def table(self) -> pd.DataFrame:
        """Columns ``source_pk, source_id, ra, dec, state`` (categorical, :data:`STATES`), ``answers`` and
        ``level`` (the calibrated probability of the source's answer; NaN if unanswered)."""
        s = self._settings
        source_pks, source_ids, ann, _ = self._answers()
        result = run_consensus(ann, s.consensus_method)
        index = pd.Index(source_pks)
        flagged, decided = np.zeros(len(source_pks), bool), np.zeros(len(source_pks), bool)
        for row in self._expert_queue():
            i = index.get_indexer([row.source_pk])[0]
            if i >= 0:
                (decided if row.decided else flagged)[i] = True
        n = result.n_classifications
        done = retired(result, min_classifications=s.retire_min_classifications, confidence=s.retire_confidence,
                       max_classifications=s.retire_max_classifications)
        state = source_states(n, done, flagged, decided)
        return pd.DataFrame({
            "source_pk": source_pks, "source_id": source_ids, "ra": ann.source_ra, "dec": ann.source_dec,
            "state": pd.Categorical.from_codes(state, categories=list(STATES)),
            "answers": n, "level": np.where(n > 0, answer_confidence(result), np.nan),
        })
