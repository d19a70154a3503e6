"""Drawing the annotation page from its session: the view, what lies over it, and the widgets beside it.

A mixin of :class:`~xid_app.ui.annotate.AnnotationPage`, which owns the widgets named here.
"""

from __future__ import annotations

import numpy as np

from ..coords import sky_to_pixel
from .messages import as_text
from .overlays import answer_summary, component_ellipses, source_details


class PageDrawing:
    """Brings the page's widgets and view up to date with ``self.session``."""

    def _draw(self, *, new_source: bool) -> None:
        current = self.session.current
        if current is not None and current.view is not None:
            self.viewer.show(current.view, reset_zoom=new_source)
        elif current is None:
            self.viewer.hide()
        if current is not None and current.problems:
            self.say("; ".join(current.problems), "danger")

    def _overlay_points(self) -> None:
        s, v = self.session, self.session.current
        self.viewer.show_marks(*s.mark_pixels())
        empty = (np.empty(0), np.empty(0))
        review = s.gold_review if v is not None and v.view is not None else None
        self.viewer.show_expert(*(sky_to_pixel(v.view.wcs, *zip(*review)) if review else empty))
        if v is None or v.view is None:
            self.viewer.show_catalogue(*empty)
            self.viewer.show_crowd(*empty)
            self.viewer.show_components(*empty, *empty, *empty)
            return
        self.viewer.show_components(*component_ellipses(s.grouping, v.view))
        index = s.project.optical_catalogue(wait=False) if self.controls.catalogue else None  # None while loading
        if index is not None:
            rows = self._catalogue_rows(index)
            self.viewer.show_catalogue(*sky_to_pixel(v.view.wcs, index.ra[rows], index.dec[rows]))
        else:
            self.viewer.show_catalogue(*empty)
        if s.expert:
            crowd = s.project.crowd_answers(v.source.pk)
            self.viewer.show_crowd(*(sky_to_pixel(v.view.wcs, *zip(*crowd.marks)) if crowd.marks else empty))
            self.crowd_notes.object = ("<b>The crowd's comments</b><ul>" + "".join(
                f"<li><i>{as_text(name)}</i>: {as_text(text)}</li>" for name, text in crowd.comments) + "</ul>"
                if crowd.comments else "No comments from the crowd.")

    def _catalogue_rows(self, index) -> np.ndarray:
        """Rows of the optical/IR catalogue over the current field."""
        v = self.session.current
        if v is None or v.view is None:
            return np.empty(0, dtype=int)
        radius = 0.75 * max(v.view.image.shape) * v.view.pixel_scale_arcsec
        return index.cone(v.source.ra, v.source.dec, radius)

    def _refresh(self, *, progress: bool = True) -> None:
        """Bring the widgets up to date with the session; the progress line only when asked (it changes
        when the source does, and costs queries)."""
        s = self.session
        self.viewer.style_contours(**self.controls.contour_style())
        self._overlay_points()
        if s.user_pk is None:
            return
        if self.name_box is not None:
            self.name_box.visible = self.start.visible = False
        self.who.object = f"<b>{as_text(s.user_name)}</b> · {s.role}"
        if progress:
            p = s.progress()
            self.progress_text.object = (f"{p.done_by_user} of {p.total} done by you · team: "
                                         f"{p.classified_by_anyone} classified · "
                                         f"{p.total - p.done_by_user} left for you")
        self._sync_widgets()

    def _sync_widgets(self) -> None:
        s, v = self.session, self.session.current
        if self.keys.shown != s.submission_id:
            self.keys.shown = s.submission_id  # the browser makes a new answer id
        self.form.param.update(flags=sorted(s.flags), comment=s.comment)
        if v is None:
            self.title.object = ("<h3>No sources yet</h3>" if s.progress().total == 0
                                 else "<h3>All sources done. Thank you!</h3>")
            self.details.object = ("Ingest a source list first: <code>xid ingest sources.csv</code>"
                                   if s.progress().total == 0 else "")
            self.marks_list.object = ""
            return
        src = v.source
        gold = ' <span class="xid-gold">gold</span>' if src.is_gold and s.expert else ""
        self.title.object = f"<h3>{as_text(src.source_id)}{gold}</h3>"
        self.details.object = source_details(src, v.view, s.display.floor_sigma)
        self.marks_list.object = ("Your saved answer: <b>no host</b>" if s.answered_no_host
                                  else answer_summary(s.marks, s.grouping))
        self.form.show_grouping(s.grouping.in_field is not None)
        shown = [layer for layer in src.layers if layer.pk in v.shown_layer_pks]
        self.controls.show_layers(shown, v.view.background_index if v.view is not None else None,
                                  v.view.contour_index if v.view is not None else None)
