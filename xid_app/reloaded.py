"""Values built from the database and kept in memory (the optical catalogue's index, the radio components),
built again only when what they come from has grown."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
VERSION_CHECK_S = 2.0  # how stale another process's additions may look: each check is a query per Next


class Reloaded(Generic[T]):
    """``load()``'s value, loaded again when ``version()`` (a cheap query: the largest primary key) changes;
    the version is read at most every ``check_every_s`` seconds, and at once after :meth:`changed`. One
    load at a time."""

    def __init__(self, version: Callable[[], int], load: Callable[[], T], check_every_s: float = VERSION_CHECK_S):
        self._version, self._load, self.check_every_s = version, load, check_every_s
        self._value: tuple[int, T] | None = None
        self._checked_at: float | None = None
        self._lock = threading.Lock()

    def get(self, *, wait: bool = True) -> T | None:
        """The value; with ``wait=False``, None at once while another thread loads it."""
        now = time.monotonic()
        kept = self._value
        fresh = kept is not None and self._checked_at is not None and now - self._checked_at < self.check_every_s
        version = kept[0] if fresh else self._version()
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            if self._value is None or self._value[0] != version:
                self._value = (version, self._load())
            self._checked_at = now
            return self._value[1]
        finally:
            self._lock.release()

    def changed(self) -> None:
        """Something was added here: read the version at the next :meth:`get`."""
        self._checked_at = None

    @contextmanager
    def held(self):
        """Hold the value as a load in progress does (``get(wait=False)`` then returns None)."""
        with self._lock:
            yield
