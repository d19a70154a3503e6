"""Python's cyclic garbage collector against the page's latency.

A full collection walks every object the collector tracks. A server with fifty pages open holds ~1.2
million (each page's Bokeh document, models and widgets: ~25,000), and its full collections stalled every
page for 0.4–0.8 s, several times a minute: the 99th percentile a person feels (measured with
``gc.callbacks`` under ``benchmarks/bench_crowd.py``; CPython 3.11 has no incremental collector). So
objects that live as long as the server, or as a page, are frozen (:func:`gc.freeze`: kept out of the
collector's sight, still freed by reference counting when nothing refers to them), and the reference
cycles closed pages leave behind are collected together once enough pages have closed: one pause of
the old size now and then instead of several a minute.
"""

from __future__ import annotations

import gc
import threading

CLOSED_BEFORE_COLLECT = 50  # pages closed before their leftover cycles are collected (one full pause)


class FrozenPages:
    """Freezes the objects of each page once it is open; collects after :data:`CLOSED_BEFORE_COLLECT`
    pages have closed."""

    def __init__(self, closed_before_collect: int = CLOSED_BEFORE_COLLECT):
        self.closed_before_collect = closed_before_collect
        self._closed = 0
        self._lock = threading.Lock()
        self.collections = 0

    def server_started(self) -> None:
        """Freeze what the server holds for its whole life (modules, settings, caches made at start)."""
        gc.collect()
        gc.freeze()

    def page_open(self) -> None:
        """A page has been built and sent: its objects live as long as it does."""
        gc.freeze()

    def page_closed(self) -> None:
        """A page closed: its objects are freed by reference counting, except those in reference cycles,
        which wait for the next collection over everything."""
        with self._lock:
            self._closed += 1
            if self._closed < self.closed_before_collect:
                return
            self._closed = 0
            self.collections += 1
        gc.unfreeze()
        gc.collect()
        gc.freeze()
