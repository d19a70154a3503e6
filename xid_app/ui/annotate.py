"""The annotation page: Panel widgets around the :class:`~xid_app.ui.viewer.Viewer`, driving an
:class:`~xid_app.ui.session.AnnotationSession`."""

from __future__ import annotations

import uuid
from typing import Callable

import panel as pn

from ..limits import USER_NAME
from .actions import PageActions
from .controls import MAX_TYPED_ID_LENGTH, AnswerForm, ImageControls
from .drafts import keep_draft, resume_or_advance
from .drawing import PageDrawing
from .errors import SessionError
from .guide import GUIDE_HTML
from .guide import STYLE as GUIDE_STYLE
from .keys import KeyShortcuts, help_markdown, valid_answer_id
from .messages import MessageBar
from .session import AnnotationSession
from .viewer import FRAME_PX, ZOOM_STEP, SkyImage

MIN_FRAME_PX, MAX_FRAME_PX, PAGE_CHROME_PX = 420, 1100, 110  # chrome: header, RA/Dec readout, margins

MARK_PICK_RADIUS_SCREEN_PX = 12
# the Log out form's button, dressed as the page's own light buttons
LOGOUT_STYLE = ("form { margin: 0; } button { font: inherit; font-size: 13px; padding: 6px 12px; cursor: pointer; "
                "background: #f2f2f2; color: #222; border: 1px solid #e0e0e0; border-radius: 4px; } "
                "button:hover { background: #e6e6e6; }")
UI_KEYS = {"zoom_in", "zoom_out", "zoom_back", "zoom_reset", "next_layer", "help", "close_help"}  # no image read


class AnnotationPage(PageDrawing, PageActions, pn.viewable.Viewer):
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
        super().__init__()
        self.session = session
        self.on_moved = on_moved
        self.viewer = SkyImage(on_click=self._on_click)

        # who: in open mode a name box; with logins nothing, so no message from the page can name a user
        self.name_box = self.start = None
        if ask_name:
            self.name_box = pn.widgets.TextInput(label="Your name", placeholder="who is annotating?", width=220,
                                                 max_length=USER_NAME)
            self.start = pn.widgets.Button(label="Start", color="primary", width=90, align="end")
        self.who = pn.pane.HTML("", css_classes=["xid-who"], align="center")
        logout_pane = pn.pane.HTML(logout or "", align="center", visible=bool(logout), stylesheets=[LOGOUT_STYLE])
        self.help_button = pn.widgets.Button(label="? Keys", width=80, align="center")
        self.guide_button = pn.widgets.Button(label="Guide", width=80, align="center")
        self.guide = pn.Modal(pn.pane.HTML(GUIDE_HTML, stylesheets=[GUIDE_STYLE]), name="How to find a host")

        # navigation and answers
        self.next = pn.widgets.Button(label="Next ▶", color="primary", width=100)
        self.back = pn.widgets.Button(label="◀ Back", width=100)
        self.skip = pn.widgets.Button(label="Skip", width=100)
        self.randomise = pn.widgets.Button(label="Randomiser", width=100)
        self.no_host = pn.widgets.Button(label="No host", color="warning", width=100)
        self.clear = pn.widgets.Button(label="Clear marks", width=100)
        self.form = AnswerForm()

        # zoom
        self.zoom_in = pn.widgets.Button(label="Zoom in", width=78)
        self.zoom_out = pn.widgets.Button(label="Zoom out", width=78)
        self.zoom_back = pn.widgets.Button(label="Zoom back", width=78)
        self.zoom_reset = pn.widgets.Button(label="Reset", width=78)

        self.controls = ImageControls(session.display)

        # text
        self.title = pn.pane.HTML("<h3>Enter your name to start</h3>", css_classes=["xid-title"])
        self.details = pn.pane.HTML("", css_classes=["xid-details"])
        self.marks_list = pn.pane.HTML("", css_classes=["xid-marks"])
        self.crowd_notes = pn.pane.HTML("", css_classes=["xid-crowd-notes"], visible=session.expert, width=350)
        self.messages = MessageBar()
        self.progress_text = pn.pane.HTML("", css_classes=["xid-progress"])
        self.help = pn.Modal(pn.pane.Markdown("### Keyboard shortcuts\n" + help_markdown(), css_classes=["xid-help-keys"]),
                             name="Keyboard shortcuts")
        self.keys = KeyShortcuts(on_action=self.press)
        self._answered: set[str] = set()  # browser answer ids already handled in this page

        self._wire()
        self.side = pn.Column(
            self.messages, self.title, self.details,
            pn.pane.HTML(
                "Click the galaxy that hosts the radio emission (contours); click a mark again to remove it. "
                "<b>Next</b> saves your answer; <kbd>?</kbd> lists the keys.", css_classes=["xid-help"], width=350),
            pn.Row(self.back, self.skip, self.next),
            pn.Row(self.randomise, self.no_host, self.clear),
            self.form.click_mode,
            pn.Row(self.form.add_component, self.form.another_source),
            pn.Row(self.form.typed_box, self.form.go),
            self.marks_list, self.crowd_notes, self.form.flag_buttons, self.form.comment_box,
            pn.Row(self.zoom_in, self.zoom_out, self.zoom_back, self.zoom_reset),
            self.controls,
            width=380, height=FRAME_PX + 30, scroll=True,
        )
        header = pn.Row(pn.pane.HTML("<h2>XID · find the host galaxy</h2>", css_classes=["xid-brand"]),
                        pn.layout.HSpacer(), self.progress_text, self.who,
                        *([self.name_box, self.start] if ask_name else []), self.guide_button, self.help_button,
                        logout_pane,
                        sizing_mode="stretch_width")
        if session.expert:  # a pane of the admin page, which has its own header: sources come from its queue
            header = pn.Spacer(height=0)
            for button in (self.back, self.skip, self.randomise):
                button.visible = False
            self.viewer.hide()
        self.layout = pn.Column(
            header,
            pn.Row(self.viewer, self.side),
            self.help, self.guide, self.keys,
            css_classes=["xid-page"],
        )
        if session.user_pk is not None and not session.expert:  # an expert opens sources from the queue
            self.act(self._resume)
        else:
            self._refresh()

    # --- wiring ----------------------------------------------------------------------------------

    def _wire(self) -> None:
        s = self.session
        actions = {
            self.next: self._next, self.no_host: self._no_host, self.back: self._back, self.skip: self._skip,
            self.randomise: self._randomise, self.clear: self._clear, self.form.go: self._match,
            self.form.add_component: self._add_component, self.form.another_source: self._another_source,
            self.zoom_in: lambda: self.viewer.zoom(ZOOM_STEP), self.zoom_out: self._zoom_out,
            self.zoom_back: self._zoom_back, self.zoom_reset: self.viewer.zoom_reset,
            self.help_button: self.help.show, self.guide_button: self.guide.show,
        }
        if self.start is not None:
            actions[self.start] = lambda: s.sign_in(self.name_box.value)
        on_screen = {self.zoom_in, self.zoom_out, self.zoom_back, self.zoom_reset, self.help_button, self.guide_button}
        for button, action in actions.items():
            button.on_click(lambda _, action=action, ui=button in on_screen: self.act(action, ui_only=ui))
        self.form.typed_box.param.watch(lambda e: self.act(self._match) if e.new else None, "enter_pressed")
        # a choice equal to the session's state is the page showing that state, not the user asking for it
        self.form.param.watch(lambda e: None if set(e.new) == s.flags else self.act(lambda: self._set_flags(e.new)),
                              "flags")
        self.form.param.watch(lambda e: None if e.new == s.comment else self.act(lambda: s.set_comment(e.new)),
                              "comment")
        self.form.param.watch(lambda *_: self.act(lambda: None, ui_only=True), "clicks")
        self.controls.param.watch(self._display_chosen, list(self.controls.DISPLAY))
        self.controls.param.watch(lambda *_: self.act(lambda: None, ui_only=True), list(self.controls.STYLE))
        self.controls.param.watch(lambda e: self.act(self._catalogue_shown if e.new else lambda: None, ui_only=True),
                                  "catalogue")
        self.keys.param.watch(lambda e: self._fit(*e.new) if len(e.new) == 2 else None, "viewport")

    def _fit(self, width: float, height: float) -> None:
        """Size the image to the window: as tall as it leaves room for, beside a 380 px column."""
        side = int(max(MIN_FRAME_PX, min(MAX_FRAME_PX, height - PAGE_CHROME_PX, width - 380 - 40)))
        self.viewer.set_frame(side)
        self.side.height = side + 30

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout

    def _check(self) -> None:
        self.session.require_login()

    def _display_chosen(self, *events) -> None:
        """The user chose another layer, stretch, limits or contours: redraw with all of it at once."""
        changes = {}
        for event in events:
            changes.update(self.controls.display_change(event.name, event.new))
        if not self.session.draws_the_same(changes):
            self.act(lambda: self.session.set_display(**changes))

    def press(self, action: str) -> None:
        """Do what a key does: ``action`` as named in :data:`~xid_app.ui.keys.SHORTCUTS` (e.g. "next", "skip",
        "no_host", "flag_blend", "zoom_in")."""
        toggles = {"toggle_contours": "contours", "toggle_catalogue": "catalogue"}
        if action in toggles:
            setattr(self.controls, toggles[action], not getattr(self.controls, toggles[action]))
            return
        if action.startswith("flag_"):
            self.form.toggle_flag(action.removeprefix("flag_"))
            return
        if action == "click_mode":
            self.form.clicks = "host" if self.form.clicks == "components" else "components"
            return
        simple = {
            "next": self._next, "back": self._back, "skip": self._skip, "randomise": self._randomise,
            "no_host": self._no_host, "clear": self._clear, "add_component": self._add_component,
            "remove_component": lambda: self._add_component(False), "another_source": self._another_source,
            "zoom_in": lambda: self.viewer.zoom(ZOOM_STEP),
            "zoom_out": self._zoom_out, "zoom_back": self._zoom_back, "zoom_reset": self.viewer.zoom_reset,
            "next_layer": self.controls.next_layer, "help": self._toggle_help, "close_help": self._close_overlays,
        }
        if action in simple:  # focus_id is handled in the browser
            self.act(simple[action], ui_only=action in UI_KEYS)

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
        if self.session.gold_review is not None:  # the expert's answer was on show: now move on
            self.session.advance()
            return
        name, kept = self._source_name(), self.session.unchanged()
        saved = self.session.submit()
        feedback = self.session.gold_feedback() if saved else None
        if feedback:  # stay to show the expert's host(s) beside the annotator's own
            shown = " The expert's host is the green diamond." if self.session.gold_review else ""
            self.say(f"Saved your answer for {name}. {feedback}{shown} Press Next to go on.", "success")
            return
        self.session.advance()
        text = (f"Saved your answer for {name}." if saved else f"Kept your answer for {name} (unchanged)." if kept
                else f"Skipped {name}: nothing marked." if name else "")
        self.say(f"{text} {feedback}" if feedback else text, "success" if saved or kept else "info")

    def _no_host(self) -> None:
        self._answer_once(self._save_no_host_and_advance)

    def _save_no_host_and_advance(self) -> None:
        name = self._source_name()
        self.session.clear_marks()
        saved = self.session.submit(no_host=True)
        feedback = self.session.gold_feedback() if saved else None
        if feedback:
            shown = " The expert's host is the green diamond." if self.session.gold_review else ""
            self.say(f"Saved 'no host' for {name}. {feedback}{shown} Press Next to go on.", "success")
            return
        self.session.advance()
        self.say(f"Saved 'no host' for {name}." + (f" {feedback}" if feedback else ""), "success")

    def _skip(self) -> None:
        name = self._source_name()
        if not name:
            raise SessionError("no source to skip: there are none left for you")
        self.session.skip()
        self.say(f"Skipped {name}.")

    def _resume(self) -> None:
        if self.session.progress().done_by_user == 0:  # a first visit: the task, with worked examples
            self.guide.show()
        if resume_or_advance(self.session):
            self.say(f"Brought back your unsaved answer on {self._source_name()} (the page was reloaded): "
                     "press Next to save it.", "info")

    def _back(self) -> None:
        self.session.back()
        name, s = self._source_name(), self.session
        mine = ("your answer: no host" if s.answered_no_host else "your answer is shown" if s.loaded_answer
                else "you had not answered it")
        self.say(f"Back to {name}: {mine}. Change it and press Next, or press Next to keep it.", "info")

    def _randomise(self) -> None:
        self.session.randomise()
        name = self._source_name()
        self.say(f"A random source: {name}." if name else "No sources left for you.", "info")

    def _match(self) -> None:
        text = self.form.typed
        if len(text) > MAX_TYPED_ID_LENGTH:
            raise SessionError(f"a match ID or position has at most {MAX_TYPED_ID_LENGTH} characters")
        mark = self.session.match(text)
        self.form.typed = ""
        what = f"catalogue object {mark.catalogue_id}" if mark.catalogue_id else "the typed position"
        numbers = self.session.project.catalogue_properties(mark.catalogue_id) if mark.catalogue_id else {}
        shown = ", ".join(f"{k} {v:.2f}" for k, v in numbers.items())
        self.say(f"Marked {what} at RA {mark.ra:.5f}°, Dec {mark.dec:+.5f}°" + (f" ({shown})." if shown else "."),
                  "success")

    def _clear(self) -> None:
        self.session.clear_marks()
        self.session.reset_groups()

    def _add_component(self, add: bool = True) -> None:
        what = self.session.add_nearest_component() if add else self.session.remove_last_component()
        self.say(f"{'Added' if add else 'Took'} {what} {'to' if add else 'out of'} source "
                 f"{self.session.grouping.active + 1}.", "info")

    def _another_source(self) -> None:
        self.session.another_source()
        self.form.clicks = "components"
        self.say(f"Source {self.session.grouping.active + 1}: click its components (or press g), then its "
                 "host (press m to switch clicks to the host).", "info")

    def _set_flags(self, flags) -> None:
        newly_too_small = "too_zoomed_in" in set(flags) - self.session.flags
        self.session.set_flags(flags)
        if newly_too_small and not self._widen():
            self.say("Flagged 'too zoomed in': this source's images are fixed cutouts, so no wider field can be "
                     "shown; the admins will see the flag.", "info")

    def _widen(self) -> bool:
        """Cut a wider field where the source's layers come from mosaics; say what happened."""
        if self.session.widen():
            scale = self.session.current.field_scale
            self.say(f"Showing a field {scale:g}× as wide, cut from the mosaic.", "info")
            return True
        return False

    def _catalogue_shown(self) -> None:
        """Say so when showing the catalogue shows nothing."""
        catalogue = self.session.project.optical_catalogue(wait=False)
        if catalogue is not None and not len(catalogue):
            self.say("No optical/IR catalogue is ingested (xid ingest-catalogue), so there are no objects to show.")
        elif catalogue is not None and self.session.current is not None and not len(self._catalogue_rows(catalogue)):
            self.say("No catalogue objects in this field.")

    def _zoom_out(self) -> None:
        self.viewer.zoom(1 / ZOOM_STEP)
        if self.viewer.zoomed_out_past_field() and not self._widen():
            self.say("You are looking beyond this cutout. If the source does not fit, flag it "
                      "'Too zoomed in' (key 3).", "info")

    def _zoom_back(self) -> None:
        if not self.viewer.zoom_back():
            raise SessionError("no earlier view to go back to")

    def _close_overlays(self) -> None:
        self.help.hide()
        self.guide.hide()

    def _toggle_help(self) -> None:
        (self.help.hide if self.help.open else self.help.show)()

    def _on_click(self, x: float, y: float) -> None:
        pick = MARK_PICK_RADIUS_SCREEN_PX * self.viewer.pixels_per_screen_px()
        if self.form.clicks == "components" and self.session.grouping.in_field is not None:
            self.act(lambda: self.session.click_component(x, y, pick_radius_px=pick))
        else:
            self.act(lambda: self._click(x, y, pick))

    def _click(self, x: float, y: float, pick: float) -> None:
        mark = self.session.click(x, y, pick_radius_px=pick)
        if mark is None:
            self.say("Removed that mark.", "info")
        elif mark.catalogue_id:
            self.say(f"Marked catalogue object {mark.catalogue_id} (your click snapped to it).", "success")
        else:
            self.say(f"Marked a host at RA {mark.ra:.5f}°, Dec {mark.dec:+.5f}°.", "success")

    def _state(self) -> tuple:
        current = self.session.current
        return (current.source.pk, current.view, current.field_scale) if current is not None else (None, None, 1)

    def _finish(self, before: tuple) -> None:
        after = self._state()
        if after[1] is not before[1] and after[1] is not None:  # views are cached: identity means unchanged
            self._draw(new_source=after[0] != before[0] or after[2] != before[2])  # new grid: full view
        elif after[0] != before[0]:
            self._draw(new_source=True)
        if after[0] != before[0] and not self._said:  # a confirmation belongs to the source it was about
            self._message_shown = ("", "info")
        if after[0] != before[0]:
            self.form.typed = ""  # text typed for one source (a failed ID, say) is not for the next
        keep_draft(self.session)
        self._show_message()
        self._refresh(progress=after[0] != before[0])
        if after[0] != before[0]:
            self._after_reply(self.session.prefetch)
            if self.on_moved is not None:
                self.on_moved()
