"""Answers begun but not yet saved, kept per user so that a reloaded page (or one opened again in another tab)
brings back the source, marks, flags and comment instead of silently dropping them.

Kept in the server process's memory for a few hours: a draft is not an answer (nothing was acknowledged),
and a server restart forgets it.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from dataclasses import dataclass

from ..answers import Mark
from .grouping import ComponentGroups

KEEP_S = 6 * 3600


@dataclass(frozen=True)
class Draft:
    """What the page showed of an answer in progress."""

    source_pk: int
    marks: tuple[Mark, ...]
    flags: frozenset[str]
    comment: str
    grouping: ComponentGroups
    saved_at: float


class Drafts:
    """The latest unsaved answer of each user (one each: the page shows one source at a time)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_user: dict[int, Draft] = {}

    def keep(self, user_pk: int, source_pk: int, marks, flags, comment: str, grouping: ComponentGroups) -> None:
        draft = Draft(source_pk, tuple(marks), frozenset(flags), comment, copy.deepcopy(grouping), time.time())
        with self._lock:
            self._by_user[user_pk] = draft

    def drop(self, user_pk: int) -> None:
        with self._lock:
            self._by_user.pop(user_pk, None)

    def take(self, user_pk: int) -> Draft | None:
        """The user's draft, if one younger than :data:`KEEP_S` is kept (it stays until dropped)."""
        with self._lock:
            draft = self._by_user.get(user_pk)
            if draft is not None and time.time() - draft.saved_at > KEEP_S:
                del self._by_user[user_pk]
                return None
            return draft


_PER_PROJECT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PER_PROJECT_LOCK = threading.Lock()


def drafts_of(project) -> Drafts:
    """The drafts of one project (one store per Project object in this process)."""
    with _PER_PROJECT_LOCK:
        if project not in _PER_PROJECT:
            _PER_PROJECT[project] = Drafts()
        return _PER_PROJECT[project]


def keep_draft(session) -> None:
    """Remember the answer a :class:`~xid_app.ui.session.AnnotationSession` shows if it holds anything
    unsaved; forget the user's draft otherwise."""
    if session.user_pk is None or session.expert:
        return
    drafts = drafts_of(session.project)
    current = session.current
    if current is not None and (session.marks or session.flags or session.comment) and not session.unchanged():
        drafts.keep(session.user_pk, current.source.pk, session.marks, session.flags, session.comment,
                    session.grouping)
    else:
        drafts.drop(session.user_pk)


def resume_or_advance(session) -> bool:
    """Open the source of the user's unsaved answer with that answer on it (a reloaded page), else the next
    source; ``True`` if an answer was brought back."""
    draft = drafts_of(session.project).take(session.user_pk) if session.user_pk is not None and not session.expert \
        else None
    if draft is None:
        session.advance()
        return False
    session.show(draft.source_pk)
    if session.current is None:
        return False
    session.marks, session.flags, session.comment = list(draft.marks), set(draft.flags), draft.comment
    session.grouping = copy.deepcopy(draft.grouping)
    return True
