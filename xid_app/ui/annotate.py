"""The annotation page: one user's walk through the sources, and the Panel layout around the viewer.

:class:`AnnotationSession` holds the walk (current source, marks, history) and talks to the store; it has
no widgets, so it is tested without a browser. :class:`AnnotationPage` binds it to Panel widgets.
"""

from __future__ import annotations

import html
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import panel as pn

from ..coords import pixel_to_sky, sky_to_pixel
from ..project import Project, SourceView
from ..store import repository
from ..store.repository import InvalidSubmission, Mark
from .viewer import FRAME_PX, Viewer

MAX_NAME_LENGTH = 100
MARK_PICK_RADIUS_SCREEN_PX = 12
_prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xid-prefetch")


class SessionError(ValueError):
    """An action the user cannot take now; the message is shown to them."""


@dataclass
class AnnotationSession:
    """One user's progress through the sources of a project."""

    project: Project
    user_pk: int | None = None
    user_name: str = ""
    current: SourceView | None = None
    marks: list[Mark] = field(default_factory=list)
    history: list[int] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    submission_id: str = ""
    loaded_answer: tuple = ()

    def sign_in(self, name: str) -> None:
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
            raise SessionError(f"enter a name of 1 to {MAX_NAME_LENGTH} printable characters")
        with self.project.session() as session, session.begin():
            user = repository.get_or_create_user(session, name=name)
            self.user_pk, self.user_name = user.id, user.name
        self.advance()

    # --- moving between sources -------------------------------------------------------------------

    def _show(self, source_pk: int | None) -> None:
        self.current = None if source_pk is None else self.project.view(source_pk)
        self.marks = []
        self.loaded_answer = ()
        self.submission_id = uuid.uuid4().hex
        if source_pk is None:
            return
        self.seen.add(source_pk)
        with self.project.session() as session:
            answer = repository.latest_answer(session, user_pk=self.user_pk, source_pk=source_pk)
            if answer is not None:
                self.marks = [Mark(h.ra, h.dec, h.layer_pk, h.pixel_x, h.pixel_y, h.catalogue_id) for h in answer.hosts]
                self.loaded_answer = self._answer_key(answer.no_host)
        self._prefetch()

    def _prefetch(self) -> None:
        """Compose the likely next source's view in the background so Next draws from the cache."""
        with self.project.session() as session:
            upcoming = repository.next_source(session, user_pk=self.user_pk, exclude=self.seen)
        if upcoming is not None:
            _prefetcher.submit(self.project.view, upcoming)

    def advance(self) -> None:
        """Go to the next source this user has not done (least-classified first)."""
        self._require_user()
        if self.current is not None:
            self.history.append(self.current.source.pk)
        with self.project.session() as session:
            self._show(repository.next_source(session, user_pk=self.user_pk, exclude=self.seen))

    def randomise(self) -> None:
        """Go to a random source this user has not done."""
        self._require_user()
        if self.current is not None:
            self.history.append(self.current.source.pk)
        with self.project.session() as session:
            self._show(repository.random_source(session, user_pk=self.user_pk, exclude=self.seen))

    def back(self) -> None:
        """Return to the previous source, showing this user's answer there so it can be changed."""
        self._require_user()
        if not self.history:
            raise SessionError("this is the first source of the session")
        self._show(self.history.pop())

    # --- answering -------------------------------------------------------------------------------

    def click(self, x: float, y: float, *, pick_radius_px: float = 1.0) -> None:
        """A click at background pixel ``(x, y)``: remove the mark there, or mark a host."""
        self._require_source()
        view = self.current.view
        for i, (mx, my) in enumerate(zip(*self.mark_pixels())):
            if np.hypot(mx - x, my - y) <= pick_radius_px:
                del self.marks[i]
                return
        ny, nx = view.image.shape
        if not (-0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5):
            raise SessionError("click on the image to mark a host")
        ra, dec = pixel_to_sky(view.wcs, x, y)
        self.marks.append(Mark(float(ra), float(dec), self.current.background_layer_pk, float(x), float(y)))

    def mark_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """The marks in the background's pixel grid (from their sky positions: a mark made on another
        layer, or an imported one, lands where it belongs)."""
        if not self.marks or self.current is None or self.current.view is None:
            return np.empty(0), np.empty(0)
        return sky_to_pixel(self.current.view.wcs, [m.ra for m in self.marks], [m.dec for m in self.marks])

    def _answer_key(self, no_host: bool) -> tuple:
        return (no_host, tuple((round(m.ra, 7), round(m.dec, 7)) for m in self.marks))

    def submit(self, *, no_host: bool = False) -> bool:
        """Store the current answer once (a replay of the same submission lands once); ``False`` if there
        was nothing new to store."""
        self._require_source()
        if not no_host and not self.marks:
            return False
        marks = [] if no_host else self.marks
        if self.loaded_answer and self._answer_key(no_host) == self.loaded_answer:
            return False  # unchanged since it was stored: no new revision
        with self.project.session() as session, session.begin():
            repository.save_classification(
                session, submission_id=self.submission_id, user_pk=self.user_pk,
                source_pk=self.current.source.pk, marks=marks, no_host=no_host,
            )
        return True

    def progress(self) -> repository.Progress:
        with self.project.session() as session:
            return repository.progress(session, user_pk=self.user_pk)

    def _require_user(self) -> None:
        if self.user_pk is None:
            raise SessionError("enter your name first")

    def _require_source(self) -> None:
        self._require_user()
        if self.current is None or self.current.view is None:
            raise SessionError("no image to annotate here: press Next")


class AnnotationPage:
    """Panel layout over an :class:`AnnotationSession`."""

    def __init__(self, project: Project):
        self.session = AnnotationSession(project)
        self.viewer = Viewer(on_click=self._on_click)
        self.name = pn.widgets.TextInput(name="Your name", placeholder="who is annotating?", width=220,
                                         max_length=MAX_NAME_LENGTH)
        self.start = pn.widgets.Button(name="Start", button_type="primary", width=90, align="end")
        self.next = pn.widgets.Button(name="Next ▶", button_type="primary", width=110)
        self.no_host = pn.widgets.Button(name="No host", button_type="warning", width=110)
        self.back = pn.widgets.Button(name="◀ Back", width=110)
        self.randomise = pn.widgets.Button(name="Randomiser", width=110)
        self.clear = pn.widgets.Button(name="Clear marks", width=110)
        self.title = pn.pane.Markdown("### Enter your name to start", css_classes=["xid-title"])
        self.details = pn.pane.Markdown("", css_classes=["xid-details"])
        self.message = pn.pane.Alert("", alert_type="info", visible=False, css_classes=["xid-message"])
        self.progress_text = pn.pane.Markdown("", css_classes=["xid-progress"])

        self.start.on_click(lambda _: self._act(lambda: self.session.sign_in(self.name.value)))
        self.next.on_click(lambda _: self._act(self._next))
        self.no_host.on_click(lambda _: self._act(self._no_host))
        self.back.on_click(lambda _: self._act(self.session.back))
        self.randomise.on_click(lambda _: self._act(self.session.randomise))
        self.clear.on_click(lambda _: self._act(self.session.marks.clear))

        buttons = pn.Column(
            pn.Row(self.back, self.next), pn.Row(self.no_host, self.randomise), pn.Row(self.clear),
        )
        side = pn.Column(self.title, self.details, buttons, self.progress_text, width=300)
        self.layout = pn.Column(
            pn.Row(pn.pane.Markdown("## XID · find the host galaxy", css_classes=["xid-brand"]),
                   pn.layout.HSpacer(), self.name, self.start),
            self.message,
            pn.Row(pn.pane.Bokeh(self.viewer.figure, width=FRAME_PX, height=FRAME_PX), side),
            pn.pane.Markdown(
                "Click the galaxy that hosts the radio emission (blue contours); click a mark again to remove "
                "it. Mark several hosts if the field holds several radio sources. **Next** saves your answer.",
                css_classes=["xid-help"],
            ),
            css_classes=["xid-page"],
        )
        self._refresh()

    def _next(self) -> None:
        saved = self.session.submit()
        name = self.session.current.source.source_id if self.session.current else ""
        self.session.advance()
        self._say(f"Saved your answer for {name}." if saved else f"Skipped {name}: nothing marked." if name else "")

    def _no_host(self) -> None:
        name = self.session.current.source.source_id if self.session.current else ""
        self.session.submit(no_host=True)
        self.session.advance()
        self._say(f"Saved 'no host' for {name}.")

    def _on_click(self, x: float, y: float) -> None:
        pick = MARK_PICK_RADIUS_SCREEN_PX * (self.viewer.x_range.end - self.viewer.x_range.start) / FRAME_PX
        self._act(lambda: self.session.click(x, y, pick_radius_px=pick), redraw=False)

    def _act(self, action, *, redraw: bool = True) -> None:
        shown = self.session.current
        try:
            self._say("")
            action()
        except (SessionError, InvalidSubmission) as exc:
            self._say(str(exc), "warning")
        with pn.io.hold():
            if redraw and self.session.current is not shown:
                self._draw()
            self._refresh()

    def _say(self, text: str, kind: str = "info") -> None:
        self.message.object = text
        self.message.alert_type = kind
        self.message.visible = bool(text)

    def _draw(self) -> None:
        current = self.session.current
        if current is not None and current.view is not None:
            self.viewer.show(current.view)
        if current is not None and current.problems:
            self._say("; ".join(current.problems), "danger")

    def _refresh(self) -> None:
        s = self.session
        xs, ys = s.mark_pixels()
        self.viewer.show_marks(xs, ys)
        if s.user_pk is None:
            return
        self.name.disabled = True
        self.start.visible = False
        p = s.progress()
        self.progress_text.object = (
            f"**{s.user_name}**: {p.done_by_user} of {p.total} sources done · "
            f"team: {p.classified_by_anyone} classified"
        )
        if s.current is None and p.total == 0:
            self.title.object = "### No sources yet"
            self.details.object = "Ingest a source list first: `xid ingest sources.csv`."
            return
        if s.current is None:
            self.title.object = "### All sources done. Thank you!"
            self.details.object = ""
            return
        src = s.current.source
        self.title.object = f"### {html.escape(src.source_id)}"
        lines = [f"RA {src.ra:.5f}°, Dec {src.dec:+.5f}° (ICRS)"]
        if s.current.view is not None:
            v = s.current.view
            lines.append(f"Image: {v.background_band}")
            if v.contour_band:
                lines.append(f"Contours: {v.contour_band} from {s.project.settings.contour_floor_sigma:g}σ")
        lines.append("")
        lines.append(f"Hosts marked: {len(s.marks)}")
        lines += [f"- {m.ra:.5f}, {m.dec:+.5f}" for m in s.marks]
        self.details.object = "\n".join(lines)
