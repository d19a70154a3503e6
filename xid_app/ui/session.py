"""One user's walk through the sources: current source, marks, flags, history. No widgets here, so the whole
flow is tested without a browser; :mod:`xid_app.ui.annotate` binds it to the page."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from ..answers import FLAGS, InvalidSubmission, Mark, comment_problem
from ..assignment import Progress
from ..auth import ActiveLogin, LoginEnded
from ..components import FieldComponents
from ..coords import (
    angular_separation_arcsec,
    format_angle,
    parse_position,
    pixel_to_sky,
    sky_to_pixel,
)
from ..imaging import Display
from ..project import Project, SourceView
from ..sky_index import Match
from .errors import SessionError
from .gold import compare_with_gold
from .grouping import ComponentGroups, compare_groups

_prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xid-prefetch")


MAX_FIELD_SCALE = 8.0  # "too zoomed in" widens a mosaic field at most this many times


@dataclass
class AnnotationSession:
    """One user's progress through the sources of a project.

    With ``expert=True`` (admins on the admin page) answers are stored as expert answers, which override
    the crowd's consensus in the export.
    """

    project: Project
    expert: bool = False
    user_pk: int | None = None
    login_pk: int | None = None  # the server-side login, when the page needs one
    user_name: str = ""
    role: str = "annotator"
    display: Display = None  # type: ignore[assignment]
    current: SourceView | None = None
    marks: list[Mark] = field(default_factory=list)
    grouping: ComponentGroups = field(default_factory=ComponentGroups)  # the radio sources being marked
    flags: set[str] = field(default_factory=set)
    comment: str = ""
    history: list[int] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    submission_id: str = ""
    loaded_answer: tuple = ()
    gold_review: list[tuple[float, float]] | None = None  # the expert's hosts, shown after a gold answer
    since_gold: int = 0
    preferred_bands: tuple[str | None, str | None] = (None, None)  # background, contours
    _prefetching: tuple[int, Future] | None = None
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self):
        if self.display is None:
            self.display = self.project.views.default_display()

    # --- who ------------------------------------------------------------------------------------

    def sign_in(self, name: str) -> None:
        """Open mode (no passwords configured): annotate under a typed name. Refused once any user has a
        password: then the user comes from the login alone."""
        try:
            self.user_pk, self.user_name, self.role = self.project.user_for_name(name)
        except (ValueError, PermissionError) as exc:
            raise SessionError(str(exc)) from exc
        self.advance()

    def attach_login(self, login: ActiveLogin) -> None:
        """Logged-in mode: the user comes from the server-side login (named by the signed cookie); every
        action checks that the login is still open."""
        self.user_pk, self.user_name, self.role = login.user_pk, login.user_name, login.role
        self.login_pk = login.pk

    # --- moving between sources -------------------------------------------------------------------

    def show(self, source_pk: int | None) -> None:
        """Show a source (``None``: nothing left), with this user's current answer on it, if any."""
        self.current, self.grouping = None, ComponentGroups()
        self.marks, self.flags, self.comment, self.loaded_answer = [], set(), "", ()
        self.gold_review = None
        self.submission_id = uuid.uuid4().hex
        if source_pk is None:
            return
        self.seen.add(source_pk)
        self._render(source_pk, keep_bands=True)
        self.grouping = ComponentGroups.for_field(self._components_in_field())
        answer = self.project.answer(source_pk, user_pk=self.user_pk, expert=self.expert)
        if answer is not None:
            self.marks, self.flags, self.comment = list(answer.marks), set(answer.flags), answer.comment
            self.grouping = self.grouping.restored(answer.groups)
            self.loaded_answer = self._answer_key(answer.no_host)

    def _components_in_field(self) -> FieldComponents | None:
        """The components over the current field (``None`` where none are ingested there)."""
        view = self.current.view if self.current is not None else None
        if view is None:
            return None
        radius = 0.75 * max(view.image.shape) * view.pixel_scale_arcsec
        return self.project.radio_sources.in_field(self.current.source.ra, self.current.source.dec, radius)

    def reset_groups(self) -> None:
        """Back to one source holding the field's target component (pre-selected), or none."""
        self.grouping = ComponentGroups.for_field(self.grouping.in_field)

    def _render(self, source_pk: int, *, keep_bands: bool = False) -> None:
        """(Re)compose the current source's view with the session's display choices."""
        if self._prefetching is not None and self._prefetching[0] == source_pk:
            # being composed in the background right now: wait for it rather than compose it twice
            self._prefetching[1].result(timeout=30)
        if keep_bands:
            info = self.project.views.source(source_pk)
            bands = [layer.band for layer in info.layers]
            background, contours = self.preferred_bands
            self.display = replace(
                self.display,
                background=bands.index(background) if background in bands else None,
                contours_from=bands.index(contours) if contours in bands else None,
            )
        scale = self.current.field_scale if self.current is not None and self.current.source.pk == source_pk else 1.0
        self.current = self.project.views.view(source_pk, self.display, field_scale=scale)

    def widen(self) -> bool:
        """Show a field twice as wide (up to ``MAX_FIELD_SCALE`` times the stored one) where layers are cut
        from mosaics; ``False`` if the source's images are fixed files or already widest."""
        self._require_source()
        current = self.current
        if not current.can_widen or current.field_scale >= MAX_FIELD_SCALE:
            return False
        self.current = self.project.views.view(current.source.pk, self.display, field_scale=current.field_scale * 2)
        self.grouping = replace(self.grouping, in_field=self._components_in_field())
        return True

    def prefetch(self) -> None:
        """Compose the likely next source's view in the background so Next draws from the cache.

        The page calls this once the current source has been sent to the browser, so the two don't
        compete for the interpreter."""
        if self.expert or self.user_pk is None:
            return
        upcoming = self.project.assignment.next_source(self.user_pk, exclude=self.seen, claim=False)  # a guess
        if upcoming is not None:
            display = replace(self.display, background=None, contours_from=None)
            self._prefetching = (upcoming, _prefetcher.submit(self.project.views.view, upcoming, display))

    def _leave(self) -> None:
        if self.current is not None:
            self.history.append(self.current.source.pk)

    def advance(self) -> None:
        """Go to the next source this user has not done: least-classified first, with a gold-standard
        source now and then."""
        self._require_user()
        self._leave()
        every = self.project.settings.gold_every
        want_gold = bool(every) and self.since_gold >= every - 1 and not self.expert
        if self.expert:
            upcoming = self._next_expert()
        else:
            upcoming = self.project.assignment.next_source(self.user_pk, exclude=self.seen, gold=want_gold)
        self.show(upcoming)
        if self.current is not None and not self.expert:
            self.since_gold = 0 if self._is_gold() else self.since_gold + 1

    def _next_expert(self) -> int | None:
        queue = [row.source_pk for row in self.project.expert_queue() if row.source_pk not in self.seen]
        return queue[0] if queue else None

    def skip(self) -> None:
        """Move on without answering (this source is not offered again in this session)."""
        self.advance()

    def randomise(self) -> None:
        """Go to a random source this user has not done."""
        self._require_user()
        self._leave()
        self.show(self.project.assignment.next_source(self.user_pk, exclude=self.seen, rng=self._rng))

    def back(self) -> None:
        """Return to the previous source, showing this user's answer there so it can be changed."""
        self._require_user()
        if not self.history:
            raise SessionError("this is the first source of the session")
        self.show(self.history.pop())

    def draws_the_same(self, changes: dict) -> bool:
        """Whether :meth:`set_display` with ``changes`` would draw what is drawn now (a layer chosen by
        position counts as the same when it is the one drawn)."""
        view = self.current.view if self.current is not None else None
        drawn = dict(background=view.background_index, contours_from=view.contour_index) if view else {}
        return all(value == getattr(self.display, name) or (name in drawn and value == drawn[name])
                   for name, value in changes.items())

    def set_display(self, **changes) -> None:
        """Change how the current source is drawn (stretch, limits, layers, contour levels); keeps the marks."""
        self.display = replace(self.display, **changes)
        if self.current is None:
            return
        layers = self.current.source.layers
        shown = [layer for layer in layers if layer.pk in self.current.shown_layer_pks]
        bands = [layer.band for layer in shown]
        if "background" in changes or "contours_from" in changes:
            view = self.current.view
            background = bands[self.display.background] if self.display.background is not None else (
                bands[view.background_index] if view else None)
            contours = bands[self.display.contours_from] if self.display.contours_from is not None else (
                bands[view.contour_index] if view and view.contour_index is not None else None)
            self.preferred_bands = (background, contours)
        self._render(self.current.source.pk)

    # --- answering -------------------------------------------------------------------------------

    def click(self, x: float, y: float, *, pick_radius_px: float = 1.0) -> Mark | None:
        """A click at background pixel ``(x, y)``: remove the mark there, or mark a host (snapped to the
        nearest catalogue object within the snap radius; the raw click is kept)."""
        self._require_source()
        view = self.current.view
        for i, (mx, my) in enumerate(zip(*self.mark_pixels())):
            if np.hypot(mx - x, my - y) <= pick_radius_px:
                del self.marks[i]
                return None
        ny, nx = view.image.shape
        if not (-0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5):
            raise SessionError("click on the image to mark a host")
        ra, dec = (float(v) for v in pixel_to_sky(view.wcs, x, y))
        mark = Mark(ra, dec, self.current.background_layer_pk, float(x), float(y), group=self.grouping.active)
        snap = self.project.settings.snap_radius_arcsec
        catalogue = self.project.optical_catalogue(wait=False) if snap > 0 else None
        match = catalogue.nearest(ra, dec, snap) if catalogue is not None else None  # still loading: the raw click
        if match is not None:
            mark = replace(mark, ra=float(match.ra), dec=float(match.dec), catalogue_id=str(match.object_id),
                           click_ra=ra, click_dec=dec)
        self.marks.append(mark)
        return mark

    def match(self, text: str) -> Mark:
        """A typed host: an optical/IR catalogue ID, or RA/Dec in degrees or sexagesimal, on this field."""
        self._require_source()
        catalogue = self.project.optical_catalogue(wait=False)
        if catalogue is None:
            raise SessionError("the optical/IR catalogue is still loading (large catalogues take a few seconds "
                               "after the server starts): try again in a moment")
        found: Match | None = catalogue.get(text) if text.strip() else None
        if found is None:
            try:
                ra, dec = parse_position(text)
            except ValueError as exc:
                known = f"not an ID of the catalogue ({len(catalogue)} objects), and " if len(catalogue) else ""
                raise SessionError(f"{text.strip()!r} is {known}{exc}") from None
            snap = self.project.settings.snap_radius_arcsec
            found = catalogue.nearest(ra, dec, snap) if snap > 0 else None
            if found is None:
                found = Match("", ra, dec, 0.0)
        view = self.current.view
        x, y = (float(v) for v in sky_to_pixel(view.wcs, found.ra, found.dec))
        ny, nx = view.image.shape
        if not (-0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5):
            away = angular_separation_arcsec(found.ra, found.dec, self.current.source.ra, self.current.source.dec)
            raise SessionError(f"{text.strip()!r} lies outside this field, {format_angle(away)} from the source")
        mark = Mark(float(found.ra), float(found.dec), self.current.background_layer_pk, x, y,
                    catalogue_id=str(found.object_id) or None, group=self.grouping.active)
        self.marks.append(mark)
        return mark

    def clear_marks(self) -> None:
        self.marks = []

    # --- grouping components into sources ------------------------------------------------------------

    def click_component(self, x: float, y: float, *, pick_radius_px: float) -> str:
        """A click in component mode: put the component under it into the source being marked (or out)."""
        self._require_source()
        view = self.current.view
        component = self.grouping.pick(x, y, view.wcs, view.pixel_scale_arcsec, pick_radius_px)
        self.grouping.toggle(component)
        return component

    def add_nearest_component(self) -> str:
        self._require_source()
        return self.grouping.add_nearest(self.current.source.ra, self.current.source.dec)

    def remove_last_component(self) -> str:
        self._require_source()
        return self.grouping.remove_last()

    def another_source(self) -> None:
        self._require_source()
        self.grouping.another()

    def set_flags(self, flags) -> None:
        """Flag the current answer with ``flags`` (names from :data:`~xid_app.answers.FLAGS`)."""
        flags = {flags} if isinstance(flags, str) else set(flags)
        if unknown := flags - set(FLAGS):
            raise SessionError(f"unknown flag(s): {', '.join(sorted(map(str, unknown)))[:200]}")
        self.flags = flags

    def toggle_flag(self, flag: str) -> None:
        self.set_flags(self.flags ^ {flag})

    def set_comment(self, text: str) -> None:
        if (problem := comment_problem(text)) is not None:
            raise SessionError(problem)
        self.comment = text

    def mark_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """The marks in the background's pixel grid (from their sky positions: a mark made on another
        layer, or an imported one, lands where it belongs)."""
        if not self.marks or self.current is None or self.current.view is None:
            return np.empty(0), np.empty(0)
        return sky_to_pixel(self.current.view.wcs, [m.ra for m in self.marks], [m.dec for m in self.marks])

    def _answer_key(self, no_host: bool) -> tuple:
        groups, marks = self.grouping.stored(self.marks)
        marks = () if no_host else tuple(sorted((round(m.ra, 7), round(m.dec, 7), m.group) for m in marks))
        return (no_host, marks, tuple(map(tuple, groups)), tuple(sorted(self.flags)), self.comment)

    @property
    def answered_no_host(self) -> bool:
        """Whether the answer on screen is this user's stored "no host" (shown on Back)."""
        return bool(self.loaded_answer) and self.loaded_answer[0] and not self.marks

    def unchanged(self, *, no_host: bool = False) -> bool:
        """Whether submitting now would store what is stored already (Back, then Next without a change)."""
        return bool(self.loaded_answer) and self._answer_key(no_host or self.answered_no_host) == self.loaded_answer

    def submit(self, *, no_host: bool = False) -> bool:
        """Store the current answer once (a replay of the same submission lands once); ``False`` if there
        was nothing new to store. An unchanged answer makes no new revision."""
        self._require_source()
        if not no_host and not self.marks and not self.flags and not self.grouping.says_more_than_target():
            return False
        if self.loaded_answer and self._answer_key(no_host) == self.loaded_answer:
            return False
        groups, marks = self.grouping.stored(self.marks)
        try:
            self.project.save_answer(
                submission_id=self.submission_id, user_pk=self.user_pk, source_pk=self.current.source.pk,
                marks=[] if no_host else marks, no_host=no_host, flags=self.flags,
                comment=self.comment, expert=self.expert, login_pk=self.login_pk, groups=groups)
        except InvalidSubmission as exc:
            raise SessionError(str(exc)) from exc
        except LoginEnded as exc:
            self.user_pk = self.login_pk = None  # nothing more under this login, whatever the page sends
            raise SessionError(str(exc)) from exc
        self.loaded_answer = self._answer_key(no_host)
        return True

    def gold_feedback(self) -> str | None:
        """After answering a gold-standard source: how the answer compares with the expert's."""
        if self.expert or not self._is_gold():
            return None
        source_pk = self.current.source.pk
        expert = self.project.answer(source_pk, expert=True)
        mine = self.project.answer(source_pk, user_pk=self.user_pk, origin="app")
        if expert is None or mine is None:
            return None
        self.gold_review = [(m.ra, m.dec) for m in expert.marks]
        return compare_with_gold(list(expert.marks), expert.no_host, list(mine.marks), mine.no_host,
                                 self.project.settings.gold_match_radius_arcsec) + compare_groups(expert.groups, mine.groups)

    def _is_gold(self) -> bool:
        return self.current is not None and self.current.source.is_gold

    def progress(self) -> Progress:
        return self.project.assignment.progress(self.user_pk)

    def require_login(self) -> None:
        """Refuse anything more under a login that has ended (logged out, expired, ended by an admin). The
        page checks this once before each action; a save checks it again in its own transaction."""
        if self.login_pk is not None and not self.project.login_is_active(self.login_pk):
            self.user_pk = self.login_pk = None  # nothing more under this login, whatever the page sends
            raise SessionError("you have logged out (or your login has ended): log in again to go on")

    def _require_user(self) -> None:
        if self.user_pk is None:
            raise SessionError("log in or enter your name first")

    def _require_source(self) -> None:
        self._require_user()
        if self.current is None or self.current.view is None:
            raise SessionError("no image to annotate here: press Next")
