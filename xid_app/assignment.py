"""Handing sources out: the order annotators get sources in (least-answered first, retired ones out, gold
now and then), remade from a consensus run in the background, and who was handed what a moment ago, so a
team spreads over the queue. One :class:`Assignment` per project and process; it owns its thread."""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Callable, Collection

import numpy as np
from sqlalchemy import Engine

from .config import Settings
from .consensus import run_consensus
from .queue import Queue, candidates, make_queue, random_candidates
from .retirement import retired
from .store import assignment as queries
from .store.assignment import Progress
from .store.columns import gold_sources
from .store.sources import existing_sources

_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xid-queue")
log = logging.getLogger(__name__)
FIRST_QUEUE_WAIT_S = 3.0  # a Next just after the server started waits this long for the queue
HAND_OUT_S = 120.0  # a source handed to one annotator is offered to others only after this (or when none is left)


def _log_failure(future: Future) -> None:
    """Background work has nobody waiting for it: say when it failed (the last result stays in use)."""
    if not future.cancelled() and future.exception() is not None:
        log.error("remaking the queue failed", exc_info=future.exception())


class Assignment:
    """Which source each annotator gets next, and the team's progress.

    Parameters
    ----------
    session : callable
        Makes a database session.
    settings : Settings
        Consensus method and retirement rules.
    answers : callable
        ``(source_pks, source_ids, annotations, expert)`` of the current answers (the queue's consensus run).
    engine : callable
        Returns the project's engine.
    on_consensus : callable, optional
        Hears of each consensus run the queue makes: ``(source_pks, source_ids, annotations, result, expert,
        started=time.time() when the answers were read)`` (the admin's survey map keeps it).
    """

    def __init__(self, session: Callable, settings: Settings, answers: Callable[[], tuple],
                 engine: Callable[[], Engine], on_consensus: Callable[..., None] | None = None):
        self._session, self.settings, self._answers, self._engine = session, settings, answers, engine
        self._on_consensus = on_consensus
        self._queue: tuple[float, Queue] | None = None
        self._queueing: Future | None = None
        self._queue_s = 0.0  # how long the last queue took to make
        self._handed: dict[int, float] = {}  # source pk → when it was last handed out, oldest first
        self._handing = threading.Lock()

    def retired_sources(self, *, max_age_s: float = 30.0, wait: bool = False) -> frozenset[int]:
        """Primary keys of retired sources (see :func:`xid_app.consensus.retired`), as of the last
        :meth:`queue`."""
        queue = self.queue(max_age_s=max_age_s, wait=wait)
        return queue.retired if queue is not None else frozenset()

    def queue(self, *, max_age_s: float = 30.0, wait: bool = False) -> Queue | None:
        """The order annotators get sources in, with retirement (see :mod:`xid_app.queue`).

        Pages ask on every Next, but it comes from consensus over every source: it is recomputed in the
        background when older than ``max_age_s`` and the last one is returned meanwhile (None at first);
        ``wait=True`` waits for a fresh one."""
        # never busier than a fifth of the time: at 20 million answers a queue takes ~100 s to make
        stale = self._queue is None or time.monotonic() - self._queue[0] > max(max_age_s, 4 * self._queue_s)
        if stale and (self._queueing is None or self._queueing.done()):
            self._queueing = _background.submit(self._compute_queue)
            self._queueing.add_done_callback(_log_failure)
        if wait:
            self._queueing.result()
        return self._queue[1] if self._queue is not None else None

    def _compute_queue(self) -> None:
        s = self.settings
        started, read_at = time.monotonic(), time.time()
        source_pks, source_ids, ann, expert = self._answers()
        result = run_consensus(ann, s.consensus_method)
        if self._on_consensus is not None:
            self._on_consensus(source_pks, source_ids, ann, result, expert, started=read_at)
        mask = retired(result, min_classifications=s.retire_min_classifications, confidence=s.retire_confidence,
                       max_classifications=s.retire_max_classifications)
        gold = np.zeros(len(source_pks), dtype=bool)
        gold[gold_sources(self._engine(), source_pks)] = True
        self._queue = (started, make_queue(source_pks, result.n_classifications, gold, mask))
        self._queue_s = time.monotonic() - started

    def next_source(self, user_pk: int, *, exclude: Collection[int] = (), gold: bool = False,
                    rng: random.Random | None = None, claim: bool = True) -> int | None:
        """The next source for a user: one they have not answered and that is not ``exclude``-d,
        least-answered first, then oldest; with ``gold``, an undone gold-standard source first if there
        is one; with ``rng``, a random one instead.

        Sources ingested since the last :meth:`queue` come first (nobody has answered them yet). A source
        handed to someone in the last ``HAND_OUT_S`` seconds (``claim``) goes to others only when nothing
        else is left, so a team spreads over the queue between its refreshes. Until the first queue is
        ready (a few seconds at most, minutes for a survey of millions) a source the user has not done is
        taken from anywhere in the list."""
        queue = self.queue()
        if queue is None:  # just started: a small project's queue is ready in a moment
            with suppress(TimeoutError):
                self._queueing.result(timeout=FIRST_QUEUE_WAIT_S)
            queue = self.queue()
        with self._session() as session:
            if queue is None:  # a survey's takes minutes: meanwhile, any source the user has not done
                return queries.some_undone_source(session, user_pk=user_pk, exclude=exclude, rng=rng or random)
            taken = self._handed_out()
            excluded = set(exclude)
            newer = [pk for pk in queries.sources_after(session, queue.newest_pk, user_pk=user_pk,
                                                           limit=len(excluded) + len(taken) + 1)
                     if pk not in excluded]
            if newer:
                free = [pk for pk in newer if pk not in taken] or newer
                pk = rng.choice(free) if rng is not None else free[0]
            else:
                excluded |= queries.done_sources(session, user_pk=user_pk)  # retired ones are not in the queue
                pk = self._first_existing(session, queue, excluded | taken, gold, rng)
                if pk is None and taken:
                    pk = self._first_existing(session, queue, excluded, gold, rng)
        if pk is not None and claim:
            with self._handing:
                self._handed.pop(pk, None)
                self._handed[pk] = time.monotonic()
        return pk

    @staticmethod
    def _first_existing(session, queue: Queue, excluded: set[int], gold: bool, rng) -> int | None:
        excluded = set(excluded)
        while True:
            picks = (random_candidates(queue, excluded, rng) if rng is not None
                     else candidates(queue, excluded, gold_first=gold))
            if len(picks) == 0:
                return None
            alive = existing_sources(session, picks)
            for pk in picks.tolist():
                if pk in alive:
                    return pk
            excluded |= set(picks.tolist())  # deleted since the queue was made

    def _handed_out(self) -> set[int]:
        """Sources handed to someone in the last ``HAND_OUT_S`` seconds (oldest are forgotten here)."""
        with self._handing:
            expired = time.monotonic() - HAND_OUT_S
            while self._handed and next(iter(self._handed.values())) < expired:
                del self._handed[next(iter(self._handed))]
            return set(self._handed)

    def progress(self, user_pk: int | None) -> Progress:
        """The user's count of answered sources (exact) and the team's (as of the last :meth:`queue`)."""
        queue = self.queue()
        with self._session() as session:
            if queue is None:
                return queries.progress(session, user_pk=user_pk)
            done = queries.count_done(session, user_pk=user_pk) if user_pk is not None else 0
            total = queue.total + queries.count_sources_after(session, queue.newest_pk)
        return Progress(done_by_user=done, total=total, classified_by_anyone=queue.classified)
