"""How a user's action runs on a page: in the order it was asked for, off the event loop unless it only
moves the view, its error shown as a message (never its internals), and its changes sent in one repaint."""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import panel as pn
from panel.io.state import set_curdoc

from ..project import DatabaseGone
from .errors import SessionError
from .messages import MessageBar

log = logging.getLogger(__name__)
# Page actions that may read images or wait on the database run here, off the event loop (see _act).
_ACTIONS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="xid-action")
PREFETCH_DELAY_MS = 400  # after the browser has the patch: the prefetch holds the GIL while it runs


class PageActions:
    """The action machinery of a page. A page using it has a :class:`MessageBar` (``messages``), and gives
    ``_state()`` (what identifies the drawing before an action) and ``_finish(before)`` (redraw what changed)."""

    messages: MessageBar
    _acting = False
    _said = False
    _message_shown = ("", "info")

    def _check(self) -> None:
        """Raise :class:`SessionError` if nothing may be done now (e.g. the login has ended)."""

    def _state(self) -> tuple:
        raise NotImplementedError

    def _finish(self, before: tuple) -> None:
        raise NotImplementedError

    def act(self, action, *, ui_only: bool = False, then=None) -> None:
        """Run a user action; show its error as a message; redraw what changed in one repaint.

        Served, an action runs after the event that asked for it, holding the page's document lock (so a
        page's actions run one at a time, in order) but not the event loop: unless ``ui_only`` (zoom, help),
        it runs in a worker thread, because it may read an image, compose a view or wait on the database,
        and other people's pages must not wait for that. ``then`` runs once the page is redrawn.
        """
        doc = pn.state.curdoc
        context = doc.session_context if doc is not None else None
        if context is None or context.session is None:  # no server (tests, notebooks), or the page being made
            with pn.io.hold():
                before = self._begin()
                self._perform(action)
                self._finish(before)
            if then is not None:
                then()
            return
        doc.add_next_tick_callback(partial(self._act_served, doc, action, ui_only, then))

    async def _act_served(self, doc, action, ui_only: bool, then) -> None:
        with set_curdoc(doc):
            before = self._begin()
            if ui_only:
                with pn.io.hold():
                    self._perform(action)
        if not ui_only:
            await asyncio.get_running_loop().run_in_executor(_ACTIONS, self._perform_for, doc, action)
        with set_curdoc(doc), pn.io.hold():
            self._finish(before)
            if then is not None:
                then()

    def _perform_for(self, doc, action) -> None:
        with set_curdoc(doc):  # widget changes made here reach the browser through the event loop
            self._perform(action)

    def _begin(self) -> tuple:
        # an action's message replaces the last one; a mere click keeps a confirmation in view, not a warning
        self._acting, self._said = True, False
        if self._message_shown[1] not in ("info", "success"):
            self._message_shown = ("", "info")
        return self._state()

    def _perform(self, action) -> None:
        try:
            self._check()
            action()
        except SessionError as exc:
            self.say(str(exc), "warning")
        except DatabaseGone as exc:
            log.error("%s", exc)
            self.say(f"Not saved: {exc}. Tell the admin.", "danger")
        except Exception:  # keep the page usable; what was stored stays stored; no internals shown
            reference = uuid.uuid4().hex[:8]
            log.exception("action failed (reference %s)", reference)
            self.say(f"Something went wrong (reference {reference}): it has been logged for the admin, and "
                      "your earlier answers are safe.", "danger")
        finally:
            self._acting = False

    def _after_reply(self, task) -> None:
        """Run ``task`` shortly after this action's changes have gone to the browser."""
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_timeout_callback(task, PREFETCH_DELAY_MS)
        else:  # no server (tests, notebooks): just run it
            task()

    def say(self, text: str, kind: str = "info") -> None:
        """Show a message (within an action: once it is done, so the page re-renders it once)."""
        self._message_shown, self._said = (text, kind), True
        if not self._acting:
            self._show_message()

    def _show_message(self) -> None:
        text, kind = self._message_shown
        self.messages.param.update(text=text, kind=kind)
