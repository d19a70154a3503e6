"""The annotation page: Panel widgets around the :class:`~xid_app.ui.viewer.Viewer`, driving an
:class:`~xid_app.ui.session.AnnotationSession`."""

from __future__ import annotations

import asyncio
import html
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Callable

import numpy as np
import panel as pn
from panel.io.state import set_curdoc

from ..answers import MAX_COMMENT_LENGTH
from ..coords import sky_to_pixel
from ..imaging import INTERVALS, STRETCHES
from ..project import DatabaseGone
from .keys import KeyShortcuts, help_markdown, valid_answer_id
from .session import AnnotationSession, SessionError
from .viewer import CONTOUR_COLOUR, ZOOM_STEP, Viewer

log = logging.getLogger(__name__)
# Page actions that may read images or wait on the database run here, off the event loop (see _act).
_ACTIONS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="xid-action")
MARK_PICK_RADIUS_SCREEN_PX = 12
PREFETCH_DELAY_MS = 400  # after the browser has the patch: the prefetch holds the GIL while it runs
MESSAGE_HEIGHT = 64  # px: room for a two-line message, kept while none shows
# messages are plain escaped text in a box coloured by kind (never Markdown: user text holds links and images)
MESSAGE_STYLE = """
.xid-alert { padding: 6px 12px; border: 1px solid transparent; border-radius: 4px; margin: 0; line-height: 1.4; }
.xid-alert-info { color: #055160; background: #cff4fc; border-color: #b6effb; }
.xid-alert-success { color: #0f5132; background: #d1e7dd; border-color: #badbcc; }
.xid-alert-warning { color: #664d03; background: #fff3cd; border-color: #ffecb5; }
.xid-alert-danger { color: #842029; background: #f8d7da; border-color: #f5c2c7; }
"""
# the Log out form's button, dressed as the page's own light buttons
LOGOUT_STYLE = ("form { margin: 0; } button { font: inherit; font-size: 13px; padding: 6px 12px; cursor: pointer; "
                "background: #f2f2f2; color: #222; border: 1px solid #e0e0e0; border-radius: 4px; } "
                "button:hover { background: #e6e6e6; }")
MAX_TYPED_ID_LENGTH = 200  # the page's text box says so too; the server does not trust the browser on it
FLAG_LABELS = {"artefact": "Artefact", "blend": "Blend", "too_zoomed_in": "Too zoomed in", "unsure": "Unsure"}
STEPS = {"√2": 2**0.5, "2": 2.0}
UI_KEYS = {"zoom_in", "zoom_out", "zoom_back", "zoom_reset", "next_layer", "help", "close_help"}  # no image read


def _text(value: str) -> str:
    """User-supplied text shown as text, never as HTML or Markdown."""
    return html.escape(value, quote=True)


class AnnotationPage:
    """One browser session's page.

    Parameters
    ----------
    session : AnnotationSession
        The user's walk through the sources: already attached to a login, or (``ask_name``) not yet.
    ask_name : bool
        Open mode: the page asks for a name. Only then are the name box and Start button built at all.
    logout : str, optional
        HTML of the Log out control (a form posting the login's logout token).
    on_moved : callable, optional
        Called after an action that moved to another source has been drawn (the admin's tables).
    """

    def __init__(self, session: AnnotationSession, *, ask_name: bool, logout: str | None = None,
                 on_moved: Callable[[], None] | None = None):
        self.session = session
        self.on_moved = on_moved
        self.viewer = Viewer(on_click=self._on_click)
        self._syncing = False
        self.show_catalogue = False

        # who: in open mode a name box; with logins nothing, so no message from the page can name a user
        self.name = self.start = None
        if ask_name:
            self.name = pn.widgets.TextInput(label="Your name", placeholder="who is annotating?", width=220,
                                             max_length=100)
            self.start = pn.widgets.Button(label="Start", color="primary", width=90, align="end")
        self.who = pn.pane.HTML("", css_classes=["xid-who"], align="center")
        logout_pane = pn.pane.HTML(logout or "", align="center", visible=bool(logout), stylesheets=[LOGOUT_STYLE])
        self.help_button = pn.widgets.Button(label="? Keys", width=80, align="center")

        # navigation and answers
        self.next = pn.widgets.Button(label="Next ▶", color="primary", width=100)
        self.back = pn.widgets.Button(label="◀ Back", width=100)
        self.skip = pn.widgets.Button(label="Skip", width=100)
        self.randomise = pn.widgets.Button(label="Randomiser", width=100)
        self.no_host = pn.widgets.Button(label="No host", color="warning", width=100)
        self.clear = pn.widgets.Button(label="Clear marks", width=100)
        self.match_id = pn.widgets.TextInput(placeholder="Write IDs here! (catalogue ID or RA Dec)", width=240,
                                             max_length=MAX_TYPED_ID_LENGTH)
        self.go = pn.widgets.Button(label="GO", color="primary", width=60)
        self.flags = pn.widgets.CheckButtonGroup(options={v: k for k, v in FLAG_LABELS.items()}, value=[],
                                                 color="default", variant="outline", width=330)
        self.comment = pn.widgets.TextAreaInput(placeholder="Comment (optional)", max_length=MAX_COMMENT_LENGTH,
                                                height=60, width=330)

        # zoom
        self.zoom_in = pn.widgets.Button(label="Zoom in", width=78)
        self.zoom_out = pn.widgets.Button(label="Zoom out", width=78)
        self.zoom_back = pn.widgets.Button(label="Zoom back", width=78)
        self.zoom_reset = pn.widgets.Button(label="Reset", width=78)

        # image controls
        d = session.display
        self.layer = pn.widgets.Select(label="Image", options={}, width=150)
        self.stretch = pn.widgets.RadioButtonGroup(options=["auto", *STRETCHES], value="auto", width=310,
                                                   color="default")
        self.interval = pn.widgets.Select(label="Limits", options=list(INTERVALS), value=d.interval, width=150)
        self.contours_on = pn.widgets.Checkbox(label="Contours", value=True, width=100, css_classes=["xid-contours-on"])
        self.contour_layer = pn.widgets.Select(label="Contours of", options={}, width=150)
        self.floor = pn.widgets.FloatSlider(label="Lowest contour (σ)", start=2, end=10, step=0.5,
                                            value=d.floor_sigma, width=150)
        self.step = pn.widgets.Select(label="Step", options=list(STEPS),
                                      value=min(STEPS, key=lambda k: abs(STEPS[k] - d.step)), width=150)
        self.colour = pn.widgets.ColorPicker(label="Colour", value=CONTOUR_COLOUR, width=80)
        self.opacity = pn.widgets.FloatSlider(label="Opacity", start=0.1, end=1.0, step=0.05, value=0.9, width=150)
        self.catalogue_on = pn.widgets.Checkbox(label="Catalogue objects", value=False, width=160,
                                                css_classes=["xid-catalogue-on"])

        # text
        self.title = pn.pane.HTML("<h3>Enter your name to start</h3>", css_classes=["xid-title"])
        self.details = pn.pane.HTML("", css_classes=["xid-details"])
        self.marks_list = pn.pane.HTML("", css_classes=["xid-marks"])
        self._acting, self._said, self._message_shown = False, False, ("", "info")
        self.message = pn.pane.HTML("", visible=False, css_classes=["xid-message"], stylesheets=[MESSAGE_STYLE],
                                    sizing_mode="stretch_width")
        self.progress_text = pn.pane.HTML("", css_classes=["xid-progress"])
        self.help = pn.Modal(pn.pane.Markdown("### Keyboard shortcuts\n" + help_markdown(), css_classes=["xid-help-keys"]),
                             name="Keyboard shortcuts")
        self.keys = KeyShortcuts(on_action=self._on_key)
        self._answered: set[str] = set()  # browser answer ids already handled in this page

        self._wire()
        side = pn.Column(
            self.title, self.details,
            pn.Row(self.back, self.skip, self.next),
            pn.Row(self.randomise, self.no_host, self.clear),
            pn.Row(self.match_id, self.go),
            self.marks_list, self.flags, self.comment,
            pn.Row(self.zoom_in, self.zoom_out, self.zoom_back, self.zoom_reset),
            pn.Card(
                pn.Row(self.layer, self.interval), self.stretch,
                pn.Row(self.contours_on, self.catalogue_on),
                pn.Row(self.contour_layer, self.floor), pn.Row(self.step, self.opacity), self.colour,
                title="Image and contours", collapsed=False, width=340,
            ),
            width=350,
        )
        self.layout = pn.Column(
            pn.Row(pn.pane.HTML("<h2>XID · find the host galaxy</h2>", css_classes=["xid-brand"]),
                   pn.layout.HSpacer(), self.progress_text, self.who,
                   *([self.name, self.start] if ask_name else []), self.help_button, logout_pane,
                   sizing_mode="stretch_width"),
            # the message's room is kept while it is hidden, so the image never moves under the pointer
            pn.Column(self.message, height=MESSAGE_HEIGHT, sizing_mode="stretch_width", margin=0, scroll=True),
            pn.Row(pn.pane.Bokeh(self.viewer.layout), side),
            pn.pane.HTML(
                "Click the galaxy that hosts the radio emission (contours); click a mark again to remove it. "
                "Mark several hosts if the field holds several radio sources. <b>Next</b> saves your answer. "
                "Press <kbd>?</kbd> for keyboard shortcuts.", css_classes=["xid-help"]),
            self.help, self.keys,
            css_classes=["xid-page"],
        )
        if session.user_pk is not None and not session.expert:  # an expert opens sources from the queue
            self._act(session.advance)
        else:
            self._refresh()

    # --- wiring ----------------------------------------------------------------------------------

    def _wire(self) -> None:
        s = self.session
        actions = {
            self.next: self._next, self.no_host: self._no_host, self.back: s.back, self.skip: self._skip,
            self.randomise: s.randomise, self.clear: s.clear_marks, self.go: self._match,
            self.zoom_in: lambda: self.viewer.zoom(ZOOM_STEP), self.zoom_out: self._zoom_out,
            self.zoom_back: self._zoom_back, self.zoom_reset: self.viewer.zoom_reset,
            self.help_button: self.help.show,
        }
        if self.start is not None:
            actions[self.start] = lambda: s.sign_in(self.name.value)
        on_screen = {self.zoom_in, self.zoom_out, self.zoom_back, self.zoom_reset, self.help_button}
        for button, action in actions.items():
            button.on_click(lambda _, action=action, ui=button in on_screen: self._act(action, ui_only=ui))
        self.match_id.param.watch(lambda e: self._act(self._match) if e.new else None, "enter_pressed")

        def watch(widget, change, ui_only=False):
            widget.param.watch(lambda e: None if self._syncing else self._act(lambda: change(e.new), ui_only=ui_only),
                               "value")

        watch(self.flags, self._set_flags)
        watch(self.comment, s.set_comment)
        watch(self.layer, lambda v: s.set_display(background=v))
        watch(self.contour_layer, lambda v: s.set_display(contours_from=v))
        watch(self.stretch, lambda v: s.set_display(stretch=None if v == "auto" else v))
        watch(self.interval, lambda v: s.set_display(interval=v))
        watch(self.floor, lambda v: s.set_display(floor_sigma=float(v)))
        watch(self.step, lambda v: s.set_display(step=STEPS[v]))
        for widget in (self.contours_on, self.colour, self.opacity):
            watch(widget, lambda _: None, ui_only=True)
        watch(self.catalogue_on, lambda v: setattr(self, "show_catalogue", bool(v)), ui_only=True)

    def _on_key(self, action: str) -> None:
        s = self.session
        toggles = {"toggle_contours": self.contours_on, "toggle_catalogue": self.catalogue_on}
        if action in toggles:
            toggles[action].value = not toggles[action].value
            return
        if action.startswith("flag_"):
            flag = action.removeprefix("flag_")
            self.flags.value = sorted(set(self.flags.value) ^ {flag})
            return
        simple = {
            "next": self._next, "back": s.back, "skip": self._skip, "randomise": s.randomise,
            "no_host": self._no_host, "clear": s.clear_marks, "zoom_in": lambda: self.viewer.zoom(ZOOM_STEP),
            "zoom_out": self._zoom_out, "zoom_back": self._zoom_back, "zoom_reset": self.viewer.zoom_reset,
            "next_layer": self._next_layer, "help": self._toggle_help, "close_help": self.help.hide,
        }
        if action in simple:  # focus_id is handled in the browser
            self._act(simple[action], ui_only=action in UI_KEYS)

    # --- actions ---------------------------------------------------------------------------------

    def _source_name(self) -> str:
        return self.session.current.source.source_id if self.session.current else ""

    def _answer_once(self, answer) -> None:
        """Run a submitting action once per answer: the browser names each answer (``keys.answer_id``), and
        an id already handled — a double click, a resent message — is ignored. The answer is stored under
        that id, so a replay that reaches the store lands once too."""
        answer_id = self.keys.answer_id
        if answer_id and not valid_answer_id(answer_id):
            raise SessionError("the page sent a malformed answer id: reload the page")
        if answer_id in self._answered:
            return
        if self.keys.answer_for and self.keys.answer_for != self.keys.shown:
            # the browser had not yet shown what the server has moved on to: the answer was meant for the
            # source before (after a Skip, say, that the page had not yet drawn), so it must not land here
            raise SessionError("the page changed before your answer arrived: look at this source and answer again")
        if answer_id:
            self.session.submission_id = answer_id
        try:
            answer()
        except SessionError:
            self.session.submission_id = uuid.uuid4().hex  # the browser names the next attempt afresh
            raise
        if answer_id:
            self._answered.add(answer_id)

    def _next(self) -> None:
        self._answer_once(self._save_and_advance)

    def _save_and_advance(self) -> None:
        name = self._source_name()
        saved = self.session.submit()
        feedback = self.session.gold_feedback() if saved else None
        self.session.advance()
        text = f"Saved your answer for {name}." if saved else f"Skipped {name}: nothing marked." if name else ""
        self._say(f"{text} {feedback}" if feedback else text, "success" if saved else "info")

    def _no_host(self) -> None:
        self._answer_once(self._save_no_host_and_advance)

    def _save_no_host_and_advance(self) -> None:
        name = self._source_name()
        self.session.clear_marks()
        saved = self.session.submit(no_host=True)
        feedback = self.session.gold_feedback() if saved else None
        self.session.advance()
        self._say(f"Saved 'no host' for {name}." + (f" {feedback}" if feedback else ""), "success")

    def _skip(self) -> None:
        name = self._source_name()
        self.session.skip()
        self._say(f"Skipped {name}.")

    def _match(self) -> None:
        text = self.match_id.value
        if not isinstance(text, str) or len(text) > MAX_TYPED_ID_LENGTH:
            raise SessionError(f"a match ID or position has at most {MAX_TYPED_ID_LENGTH} characters")
        mark = self.session.match(text)
        self.match_id.value = ""
        what = f"catalogue object {mark.catalogue_id}" if mark.catalogue_id else "the typed position"
        numbers = self.session.project.catalogue_properties(mark.catalogue_id) if mark.catalogue_id else {}
        shown = ", ".join(f"{k} {v:.2f}" for k, v in numbers.items())
        self._say(f"Marked {what} at RA {mark.ra:.5f}°, Dec {mark.dec:+.5f}°" + (f" ({shown})." if shown else "."),
                  "success")

    def _set_flags(self, flags) -> None:
        flags = set(flags) if isinstance(flags, (list, tuple, set)) else {flags}
        if unknown := flags - set(FLAG_LABELS):
            raise SessionError(f"unknown flag(s): {', '.join(sorted(map(str, unknown)))[:200]}")
        newly_too_small = "too_zoomed_in" in flags - self.session.flags
        self.session.flags = flags
        if newly_too_small:
            self._widen()

    def _widen(self) -> bool:
        """Cut a wider field where the source's layers come from mosaics; say what happened."""
        if self.session.widen():
            scale = self.session.current.field_scale
            self._say(f"Showing a field {scale:g}× as wide, cut from the mosaic.", "info")
            return True
        return False

    def _zoom_out(self) -> None:
        self.viewer.zoom(1 / ZOOM_STEP)
        if self.viewer.zoomed_out_past_field() and not self._widen():
            self._say("You are looking beyond this cutout. If the source does not fit, flag it "
                      "'Too zoomed in' (key 3).", "info")

    def _zoom_back(self) -> None:
        if not self.viewer.zoom_back():
            raise SessionError("no earlier view to go back to")

    def _next_layer(self) -> None:
        options = list(self.layer.options.values())
        if len(options) > 1:
            self.layer.value = options[(options.index(self.layer.value) + 1) % len(options)]

    def _toggle_help(self) -> None:
        (self.help.hide if self.help.open else self.help.show)()

    def _on_click(self, x: float, y: float) -> None:
        pick = MARK_PICK_RADIUS_SCREEN_PX * self.viewer.pixels_per_screen_px()
        self._act(lambda: self.session.click(x, y, pick_radius_px=pick))

    def _act(self, action, *, ui_only: bool = False, then=None) -> None:
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

    def _state(self) -> tuple:
        current = self.session.current
        return (current.source.pk, current.view, current.field_scale) if current is not None else (None, None, 1)

    def _begin(self) -> tuple:
        # an action's message replaces the last one; a mere click keeps a confirmation in view, not a warning
        self._acting, self._said = True, False
        if self._message_shown[1] not in ("info", "success"):
            self._message_shown = ("", "info")
        return self._state()

    def _perform(self, action) -> None:
        try:
            action()
        except SessionError as exc:
            self._say(str(exc), "warning")
        except DatabaseGone as exc:
            log.error("%s", exc)
            self._say(f"Not saved: {exc}. Tell the admin.", "danger")
        except Exception:  # keep the page usable; what was stored stays stored; no internals shown
            reference = uuid.uuid4().hex[:8]
            log.exception("action failed (reference %s)", reference)
            self._say(f"Something went wrong (reference {reference}): it has been logged for the admin, and "
                      "your earlier answers are safe.", "danger")
        finally:
            self._acting = False

    def _finish(self, before: tuple) -> None:
        after = self._state()
        if after[1] is not before[1] and after[1] is not None:  # views are cached: identity means unchanged
            self._draw(new_source=after[0] != before[0] or after[2] != before[2])  # new grid: full view
        elif after[0] != before[0]:
            self._draw(new_source=True)
        if after[0] != before[0] and not self._said:  # a confirmation belongs to the source it was about
            self._message_shown = ("", "info")
        self._show_message()
        self._refresh(progress=after[0] != before[0])
        if after[0] != before[0]:
            self._after_reply(self.session.prefetch)
            if self.on_moved is not None:
                self.on_moved()

    def _after_reply(self, task) -> None:
        """Run ``task`` shortly after this action's changes have gone to the browser."""
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_timeout_callback(task, PREFETCH_DELAY_MS)
        else:  # no server (tests, notebooks): just run it
            task()

    def _say(self, text: str, kind: str = "info") -> None:
        """Show a message (within an action: once it is done, so the page re-renders it once)."""
        self._message_shown, self._said = (text, kind), True
        if not self._acting:
            self._show_message()

    def _show_message(self) -> None:
        text, kind = self._message_shown
        html_text = f'<div class="xid-alert xid-alert-{kind}" role="status">{_text(text)}</div>' if text else ""
        wanted = dict(object=html_text, visible=bool(text))
        if any(getattr(self.message, k) != v for k, v in wanted.items()):  # re-rendering markdown costs
            self.message.param.update(**wanted)

    # --- drawing ---------------------------------------------------------------------------------

    def _draw(self, *, new_source: bool) -> None:
        current = self.session.current
        if current is not None and current.view is not None:
            self.viewer.show(current.view, reset_zoom=new_source)
        if current is not None and current.problems:
            self._say("; ".join(current.problems), "danger")

    def _overlay_points(self) -> None:
        s, v = self.session, self.session.current
        self.viewer.show_marks(*s.mark_pixels())
        empty = (np.empty(0), np.empty(0))
        if v is None or v.view is None:
            self.viewer.show_catalogue(*empty)
            self.viewer.show_crowd(*empty)
            return
        index = s.project.catalogue_index(wait=False) if self.show_catalogue else None  # None while loading
        if index is not None:
            ny, nx = v.view.image.shape
            radius = 0.75 * max(nx, ny) * v.view.pixel_scale_arcsec
            rows = index.cone(v.source.ra, v.source.dec, radius)
            self.viewer.show_catalogue(*sky_to_pixel(v.view.wcs, index.ra[rows], index.dec[rows]))
        else:
            self.viewer.show_catalogue(*empty)
        if s.expert:
            crowd = s.project.crowd_marks(v.source.pk)
            self.viewer.show_crowd(*(sky_to_pixel(v.view.wcs, *zip(*crowd)) if crowd else empty))

    def _refresh(self, *, progress: bool = True) -> None:
        """Bring the widgets up to date with the session; the progress line only when asked (it changes
        when the source does, and costs queries)."""
        s = self.session
        self.viewer.style_contours(colour=self.colour.value, alpha=self.opacity.value, visible=self.contours_on.value)
        self._overlay_points()
        if s.user_pk is None:
            return
        if self.name is not None:
            self.name.visible = self.start.visible = False
        self.who.object = f"<b>{_text(s.user_name)}</b> · {s.role}"
        if progress:
            p = s.progress()
            self.progress_text.object = (f"{p.done_by_user} of {p.total} done by you · team: "
                                         f"{p.classified_by_anyone} classified · "
                                         f"{p.total - p.done_by_user} left for you")
        self._syncing = True
        try:
            self._sync_widgets()
        finally:
            self._syncing = False

    def _sync_widgets(self) -> None:
        s, v = self.session, self.session.current
        if self.keys.shown != s.submission_id:
            self.keys.shown = s.submission_id  # the browser makes a new answer id
        self.flags.value = sorted(s.flags)
        self.comment.value = s.comment
        if v is None:
            self.title.object = ("<h3>No sources yet</h3>" if s.progress().total == 0
                                 else "<h3>All sources done. Thank you!</h3>")
            self.details.object = ("Ingest a source list first: <code>xid ingest sources.csv</code>"
                                   if s.progress().total == 0 else "")
            self.marks_list.object = ""
            return
        src = v.source
        gold = ' <span class="xid-gold">gold</span>' if src.is_gold and s.expert else ""
        self.title.object = f"<h3>{_text(src.source_id)}{gold}</h3>"
        lines = [f"RA {src.ra:.5f}°, Dec {src.dec:+.5f}° (ICRS)"]
        if v.view is not None:
            lines.append(f'Image: <span class="xid-band">{_text(v.view.background_band)}</span>')
            if v.view.contour_band:
                lines.append(f"Contours: {_text(v.view.contour_band)} from {s.display.floor_sigma:g}σ "
                             f"(rms {v.view.rms:.3g})")
        self.details.object = "<br>".join(lines)
        items = "".join(
            f"<li>{m.ra:.5f}, {m.dec:+.5f}" + (f" · <b>{_text(m.catalogue_id)}</b>" if m.catalogue_id else "") + "</li>"
            for m in s.marks
        )
        self.marks_list.object = f"Hosts marked: {len(s.marks)}" + (f"<ul>{items}</ul>" if items else "")
        shown = [layer for layer in src.layers if layer.pk in v.shown_layer_pks]
        self.layer.options = {f"{layer.band} ({layer.kind})": i for i, layer in enumerate(shown)}
        radio = {f"{layer.band}": i for i, layer in enumerate(shown) if layer.kind == "radio"}
        self.contour_layer.options = radio
        if v.view is not None:
            self.layer.value = v.view.background_index
            if v.view.contour_index is not None:
                self.contour_layer.value = v.view.contour_index
