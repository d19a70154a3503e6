"""Login throttling: sliding-window counts of failed logins per client, per account and per trusted browser.

An attempt is counted *before* its password is checked, so concurrent guesses cannot slip past a counter
that only hears of failures afterwards; a login that succeeds is then forgiven, so a whole team behind one
address (an office, a proxy) can log in at nine o'clock. Guesses at one account from strange browsers are limited per
account, but a browser that has logged in to that account before (it holds the account's signed device
cookie) counts on its own: a colleague cannot lock a user out of their own browser (OWASP's "device
cookies").
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` within any ``window_s`` seconds."""

    attempts: int
    window_s: float


# Defaults as data: a person mistyping is not slowed; a guesser gets one guess a minute per account.
LOGIN_LIMITS: dict[str, Limit] = {
    "client": Limit(20, 600.0),   # per client address, whatever the names tried
    "account": Limit(10, 600.0),  # per account name, from browsers that have not logged in to it before
    "device": Limit(10, 600.0),   # per browser that has logged in to the account before
}


@dataclass
class Throttle:
    """Sliding-window counters, one per (kind, key); call :meth:`take` before each attempt."""

    limits: dict[str, Limit] = field(default_factory=lambda: dict(LOGIN_LIMITS))
    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, str], deque] = field(default_factory=dict)

    def take(self, **keys: str) -> float:
        """Count one attempt against each ``kind=key`` given (kinds from :attr:`limits`).

        Returns 0 if the attempt may go ahead (it is counted everywhere), else the seconds until it may
        (nothing is counted: a refused attempt costs the caller nothing and does not extend the wait).
        """
        now = self.clock()
        wait = 0.0
        for kind, key in keys.items():
            limit = self.limits[kind]
            times = self._window(kind, key, now)
            if len(times) >= limit.attempts:
                wait = max(wait, times[0] + limit.window_s - now)
        if wait > 0:
            return math.ceil(wait)
        for kind, key in keys.items():
            self._seen.setdefault((kind, key), deque()).append(now)
        if len(self._seen) > 100_000:  # a flood of made-up names: forget the idle ones
            self._forget_idle(now)
        return 0.0

    def forgive(self, **keys: str) -> None:
        """Take back the newest attempt counted against each ``kind=key`` (the login succeeded)."""
        for kind, key in keys.items():
            times = self._seen.get((kind, key))
            if times:
                times.pop()

    def _window(self, kind: str, key: str, now: float) -> deque:
        times = self._seen.get((kind, key), deque())
        while times and times[0] <= now - self.limits[kind].window_s:
            times.popleft()
        return times

    def _forget_idle(self, now: float) -> None:
        for kind, key in list(self._seen):
            if not self._window(kind, key, now):
                del self._seen[(kind, key)]
