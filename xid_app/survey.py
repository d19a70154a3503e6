"""Where a survey stands, source by source: each source's state (unseen, in progress, retired, flagged for
the experts, decided by one) and how sure its answer is — what the admin's survey map draws.

:func:`source_states` and :func:`states_table` are pure functions over arrays; :class:`SurveyStates`
(``Project.survey``) keeps the table the queue's last consensus gave (made in the background anyway: at
millions of sources a second consensus for the map would cost minutes) and reads the answers itself
only when there is none yet.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np
import pandas as pd

from .answers import FLAGS
from .config import Settings
from .consensus import Annotations, Consensus, ExpertAnswers, run_consensus
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


def states_table(source_pks: np.ndarray, source_ids: np.ndarray, ann: Annotations, result: Consensus,
                 expert: ExpertAnswers, settings: Settings) -> pd.DataFrame:
    """Columns ``source_pk, source_id, ra, dec, state`` (categorical, :data:`STATES`), ``answers`` and
    ``level`` (the calibrated probability of the source's answer; NaN if unanswered).

    Flagged: a current crowd answer raises artefact, blend or too zoomed in (what the expert queue lists);
    decided: an expert has answered."""
    n_sources = len(source_pks)
    raised = [FLAGS.index(f) for f in ("artefact", "blend", "too_zoomed_in")]
    flagged = np.zeros(n_sources, bool)
    if ann.cls_flags is not None and len(ann.cls_flags):
        flagged[ann.cls_source[ann.cls_flags[:, raised].any(axis=1)]] = True
    decided = np.zeros(n_sources, bool)
    decided[expert.source] = True
    n = result.n_classifications
    done = retired(result, min_classifications=settings.retire_min_classifications,
                   confidence=settings.retire_confidence, max_classifications=settings.retire_max_classifications)
    return pd.DataFrame({
        "source_pk": source_pks, "source_id": source_ids, "ra": ann.source_ra, "dec": ann.source_dec,
        "state": pd.Categorical.from_codes(source_states(n, done, flagged, decided), categories=list(STATES)),
        "answers": n, "level": np.where(n > 0, answer_confidence(result), np.nan),
    })


class SurveyStates:
    """Every source's position, state, answers and answer confidence (:func:`states_table`).

    Parameters
    ----------
    answers : callable
        ``(source_pks, source_ids, annotations, expert)`` of the current answers.
    settings : Settings
        Consensus method and retirement rules.
    """

    def __init__(self, answers: Callable[[], tuple], settings: Settings):
        self._answers, self._settings = answers, settings
        self._latest: tuple[float, pd.DataFrame] | None = None
        self._lock = threading.Lock()

    def remember(self, source_pks: np.ndarray, source_ids: np.ndarray, ann: Annotations, result: Consensus,
                 expert: ExpertAnswers, *, started: float) -> None:
        """Keep the table of a consensus run elsewhere (the queue's), begun at ``started`` (time.time())."""
        table = states_table(source_pks, source_ids, ann, result, expert, self._settings)
        with self._lock:
            if self._latest is None or started >= self._latest[0]:
                self._latest = (started, table)

    def table(self, *, max_age_s: float | None = None) -> pd.DataFrame:
        """The table of the latest consensus run, if one began less than ``max_age_s`` ago (default: any);
        else of a consensus run now. ``table.attrs["as_of"]``: when the answers it shows were read
        (seconds since the epoch)."""
        with self._lock:
            latest = self._latest
        if latest is not None and (max_age_s is None or time.time() - latest[0] <= max_age_s):
            table = latest[1].copy(deep=False)
        else:
            started = time.time()
            source_pks, source_ids, ann, expert = self._answers()
            self.remember(source_pks, source_ids, ann, run_consensus(ann, self._settings.consensus_method),
                          expert, started=started)
            return self.table()
        table.attrs["as_of"] = latest[0]
        return table
