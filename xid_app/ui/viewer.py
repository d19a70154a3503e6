"""The annotation view: a plain Bokeh figure (fast to repaint) drawn in the background layer's pixel grid.

Pixel ``(x, y)`` of the background is data coordinate ``(x, y)`` of the figure, so a click's data
coordinates are the background pixel it fell on (see :mod:`xid_app.coords`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import panel as pn
from bokeh.events import RangesUpdate, Tap
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Div, LinearColorMapper, Range1d
from bokeh.palettes import Greys256
from bokeh.plotting import figure

from ..coords import pixel_to_pixel
from ..imaging import SCALE_BAR_ARCSEC, View

FRAME_PX = 600
CONTOUR_COLOUR = "#33ccff"
MARK_COLOUR = "#ff3355"
CROWD_COLOUR = "#ffd400"
EXPERT_COLOUR = "#39ff6a"  # the expert's host, shown to an annotator after a gold-standard source
CATALOGUE_COLOUR = "#7CFC00"
NO_DATA_COLOUR = "#1f2a44"  # beyond a mosaic's edge or a blank pixel: not the same as black sky
IMAGE_PALETTE = (NO_DATA_COLOUR, *Greys256[1:])  # index 0 is "no data" (see imaging.to_uint8)
OVERLAY_COLOUR = "#ffffff"
# components: the source being marked, other sources marked, components in no source yet; unlike the
# contours' blue, each drawn over a dark halo so that it reads over bright optical and radio pixels alike
ACTIVE_COMPONENT_COLOUR = "#ff3df2"
GROUPED_COMPONENT_COLOUR = "#ffb000"
FREE_COMPONENT_COLOUR = "#f2f2f2"
ZOOM_STEP = 2.0

# RA/Dec under the cursor, computed in the browser from a local linear map sent with each view.
_READOUT_JS = """
const p = wcs.data;
if (!p.ra0 || p.ra0.length === 0) { return; }
const dx = cb_obj.x - p.x0[0], dy = cb_obj.y - p.y0[0];
const xi = (p.a[0] * dx + p.b[0] * dy) / 206264.80624709636;
const eta = (p.c[0] * dx + p.d[0] * dy) / 206264.80624709636;
const ra0 = p.ra0[0] * Math.PI / 180, dec0 = p.dec0[0] * Math.PI / 180;
const den = Math.cos(dec0) - eta * Math.sin(dec0);
let ra = (ra0 + Math.atan2(xi, den)) * 180 / Math.PI;
ra = ((ra % 360) + 360) % 360;
const dec = Math.atan2(Math.sin(dec0) + eta * Math.cos(dec0), Math.hypot(xi, den)) * 180 / Math.PI;
const pad = (v, w, d) => v.toFixed(d).padStart(w, "0");
const h = ra / 15, hh = Math.floor(h), mm = Math.floor((h - hh) * 60), ss = ((h - hh) * 60 - mm) * 60;
const sign = dec < 0 ? "−" : "+", ad = Math.abs(dec), dd = Math.floor(ad), dm = Math.floor((ad - dd) * 60);
const ds = ((ad - dd) * 60 - dm) * 60;
div.text = `RA ${ra.toFixed(5)}°  Dec ${dec >= 0 ? "+" : "−"}${Math.abs(dec).toFixed(5)}°  ` +
  `(${pad(hh, 2, 0)}:${pad(mm, 2, 0)}:${pad(ss, 5, 2)} ${sign}${pad(dd, 2, 0)}:${pad(dm, 2, 0)}:${pad(ds, 4, 1)})`;
"""


# N/E arrows top right and a scale bar bottom left of whatever part of the field is in view: redrawn in the
# browser whenever the view moves (zoom buttons, keys, wheel, pan), from the orientation sent with each source
_ORIENTATION_JS = """
const p = orientation.data;
if (!p.north_x || p.north_x.length === 0) { return; }
const w = x_range.end - x_range.start, h = y_range.end - y_range.start, side = Math.max(w, h);
const L = 0.1 * side, cx = x_range.end - 0.17 * side, cy = y_range.end - 0.17 * side;
const nx = p.north_x[0] * L, ny = p.north_y[0] * L, ex = p.east_x[0] * L, ey = p.east_y[0] * L;
const target = 0.25 * w * p.scale[0];
let bar = lengths[0];
for (const length of lengths) { if (Math.abs(Math.log(length / target)) < Math.abs(Math.log(bar / target))) { bar = length; } }
const px = bar / p.scale[0], x0 = x_range.start + 0.05 * side, y0 = y_range.start + 0.05 * side;
arrows.data = {xs: [[cx, cx + nx], [cx, cx + ex], [x0, x0 + px]], ys: [[cy, cy + ny], [cy, cy + ey], [y0, y0]]};
const label = bar >= 60 ? `${bar / 60}′` : `${bar}″`;
labels.data = {x: [cx + 1.35 * nx, cx + 1.35 * ex, x0 + px / 2], y: [cy + 1.35 * ny, cy + 1.35 * ey, y0 + 0.035 * side],
               text: ["N", "E", label]};
"""


class SkyImage(pn.viewable.Viewer):
    """Owns the Bokeh figure and its data sources; knows nothing about the database."""

    def __init__(self, on_click: Callable[[float, float], None], **params):
        super().__init__(**params)
        self.x_range = Range1d(-0.5, 99.5)
        self.y_range = Range1d(-0.5, 99.5)
        self.figure = figure(
            width=FRAME_PX, height=FRAME_PX, x_range=self.x_range, y_range=self.y_range,
            tools="pan,wheel_zoom,reset", active_scroll="wheel_zoom", toolbar_location=None,
            min_border=0, outline_line_color=None, background_fill_color="black", name="xid-view",
        )
        self.figure.axis.visible = False
        self.figure.grid.visible = False
        self.image = ColumnDataSource(dict(image=[np.zeros((1, 1), np.uint8)], x=[-0.5], y=[-0.5], dw=[1], dh=[1]))
        self.contours = ColumnDataSource(dict(x=[], y=[]))
        self.marks = ColumnDataSource(dict(x=[], y=[]))
        self.crowd = ColumnDataSource(dict(x=[], y=[]))
        self.expert = ColumnDataSource(dict(x=[], y=[]))
        self.catalogue = ColumnDataSource(dict(x=[], y=[]))
        self.components = ColumnDataSource(dict(x=[], y=[], width=[], height=[], angle=[], colour=[]))
        self.arrows = ColumnDataSource(dict(xs=[], ys=[]))
        self.labels = ColumnDataSource(dict(x=[], y=[], text=[]))
        self.orientation = ColumnDataSource(dict(north_x=[], north_y=[], east_x=[], east_y=[], scale=[]))
        self.wcs = ColumnDataSource(dict(ra0=[], dec0=[], x0=[], y0=[], a=[], b=[], c=[], d=[]), name="xid-readout-wcs")

        fig = self.figure
        # 0 is "no data" whatever the image holds: without fixed limits the faintest real pixel took its colour
        colours = LinearColorMapper(palette=IMAGE_PALETTE, low=0, high=255)
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.image, color_mapper=colours,
                  level="image", name="xid-image")
        self.contour_glyph = fig.line(x="x", y="y", source=self.contours, line_color=CONTOUR_COLOUR,
                                      line_width=1.2, line_alpha=0.9, name="xid-contours")
        ellipse = dict(x="x", y="y", width="width", height="height", angle="angle", source=self.components,
                       fill_alpha=0.0)
        fig.ellipse(**ellipse, line_color="black", line_width=4.5, line_alpha=0.55, name="xid-component-halo")
        fig.ellipse(**ellipse, line_color="colour", line_width=2, name="xid-components")
        self.catalogue_glyph = fig.scatter(x="x", y="y", source=self.catalogue, marker="square", size=9,
                                           fill_alpha=0.0, line_color=CATALOGUE_COLOUR, line_width=1.2)
        self.crowd_glyph = fig.scatter(x="x", y="y", source=self.crowd, marker="x", size=10,
                                       line_color=CROWD_COLOUR, line_width=2)
        fig.scatter(x="x", y="y", source=self.expert, marker="diamond", size=24, fill_alpha=0.0,
                    line_color=EXPERT_COLOUR, line_width=3, name="xid-expert-hosts")
        fig.scatter(x="x", y="y", source=self.marks, marker="circle_cross", size=22,
                    fill_alpha=0.0, line_color=MARK_COLOUR, line_width=3)
        # white over a dark halo: readable over a bright star as over black sky
        fig.multi_line(xs="xs", ys="ys", source=self.arrows, line_color="black", line_width=5, line_alpha=0.6)
        fig.multi_line(xs="xs", ys="ys", source=self.arrows, line_color=OVERLAY_COLOUR, line_width=2,
                       name="xid-orientation")
        fig.text(x="x", y="y", text="text", source=self.labels, text_color=OVERLAY_COLOUR, text_font_size="14px",
                 text_font_style="bold", text_align="center", text_baseline="middle", background_fill_color="black",
                 background_fill_alpha=0.55, padding=2,
                 name="xid-orientation-labels")
        follow = CustomJS(args=dict(x_range=self.x_range, y_range=self.y_range, orientation=self.orientation,
                                    arrows=self.arrows, labels=self.labels, lengths=list(SCALE_BAR_ARCSEC)),
                          code=_ORIENTATION_JS)
        for model in (self.x_range, self.y_range):
            model.js_on_change("start", follow)
            model.js_on_change("end", follow)
        self.orientation.js_on_change("data", follow)
        fig.on_event(Tap, lambda event: on_click(event.x, event.y))
        fig.on_event(RangesUpdate, self._on_ranges)

        self.readout = Div(text="RA/Dec under the cursor", width=FRAME_PX, styles={"font-family": "monospace"},
                           css_classes=["xid-readout"])
        fig.js_on_event("mousemove", CustomJS(args=dict(wcs=self.wcs, div=self.readout), code=_READOUT_JS))
        self.layout = column(fig, self.readout)
        self._pane = pn.pane.Bokeh(self.layout)
        self.shape = (1, 1)
        self._wcs = None
        self.zoom_history: list[tuple[float, float, float, float]] = []
        self._last_view: tuple[float, float, float, float] | None = None

    # --- drawing ---------------------------------------------------------------------------------

    def show(self, view: View, *, reset_zoom: bool = True) -> None:
        """Draw a source's view; with ``reset_zoom`` show the whole field and forget zoom history, else keep
        the same patch of sky in view (another layer of the source may have another pixel grid)."""
        self._pane.visible = True
        ny, nx = view.image.shape
        previous_wcs, kept = self._wcs, None
        if not reset_zoom and previous_wcs is not None and previous_wcs is not view.wcs:
            kept = self._same_sky(previous_wcs, view.wcs)
        self.shape = (ny, nx)
        self._wcs = view.wcs
        shown = self.image.data.get("image") or [None]
        if shown[0] is None or shown[0].shape != view.image.shape or not np.array_equal(shown[0], view.image):
            # only contours changed (a new floor, step or colour): the pixels are not sent again
            self.image.data = dict(image=[view.image], x=[-0.5], y=[-0.5], dw=[nx], dh=[ny])
        x, y = view.contour_xy
        self.contours.data = dict(x=x, y=y)
        self.wcs.data = {k: [v] for k, v in view.readout.items()}
        self._draw_orientation(view)
        if reset_zoom:
            self.zoom_history.clear()
            self._set_view(self._full_view(), remember=False)
        elif kept is not None:
            self.zoom_history.clear()  # earlier views were in the other grid
            self._set_view(kept, remember=False)

    def hide(self) -> None:
        """No source to show (the queue is done, or an expert has not opened one): no stale image, no canvas."""
        self._pane.visible = False

    def _same_sky(self, from_wcs, to_wcs) -> tuple[float, float, float, float] | None:
        """The current view's patch of sky in another pixel grid: its centre mapped across, its width scaled
        by the ratio of the pixel sizes (a square view stays square)."""
        x0, x1, y0, y1 = self.current_view()
        try:
            u, v = pixel_to_pixel(from_wcs, to_wcs, [(x0 + x1) / 2, x1], [(y0 + y1) / 2, (y0 + y1) / 2])
        except Exception:  # a grid that cannot be mapped: the whole field, as for a new source
            return None
        half = float(np.hypot(u[1] - u[0], v[1] - v[0]))
        if not (np.isfinite(u[0]) and np.isfinite(v[0]) and half > 0):
            return None
        return (float(u[0]) - half, float(u[0]) + half, float(v[0]) - half, float(v[0]) + half)

    def _draw_orientation(self, view: View) -> None:
        """N/E arrows in the top-right corner, a scale bar bottom-left of the view: drawn here for the whole
        field, and by the browser again whenever the view moves (:data:`_ORIENTATION_JS`)."""
        ny, nx = view.image.shape
        side = max(nx, ny)
        length = 0.1 * side
        # room for both arrows and their labels whichever way north and east point
        cx, cy = nx - 0.5 - 0.17 * side, ny - 0.5 - 0.17 * side
        (nx_, ny_), (ex_, ey_) = view.north * length, view.east * length
        bar_arcsec = view.scale_bar_arcsec()
        bar_px = bar_arcsec / view.pixel_scale_arcsec
        x0, y0 = 0.05 * side, 0.05 * side
        self.arrows.data = dict(
            xs=[[cx, cx + nx_], [cx, cx + ex_], [x0, x0 + bar_px]],
            ys=[[cy, cy + ny_], [cy, cy + ey_], [y0, y0]],
        )
        label = f"{bar_arcsec / 60:g}′" if bar_arcsec >= 60 else f"{bar_arcsec:g}″"
        self.labels.data = dict(
            x=[cx + 1.35 * nx_, cx + 1.35 * ex_, x0 + bar_px / 2],
            y=[cy + 1.35 * ny_, cy + 1.35 * ey_, y0 + 0.035 * side],
            text=["N", "E", label],
        )
        self.orientation.data = dict(north_x=[float(view.north[0])], north_y=[float(view.north[1])],
                                     east_x=[float(view.east[0])], east_y=[float(view.east[1])],
                                     scale=[float(view.pixel_scale_arcsec)])

    def show_marks(self, xs, ys) -> None:
        self.marks.data = dict(x=list(xs), y=list(ys))

    def show_expert(self, xs, ys) -> None:
        self.expert.data = dict(x=list(xs), y=list(ys))

    def show_crowd(self, xs, ys) -> None:
        self.crowd.data = dict(x=list(xs), y=list(ys))

    def show_components(self, xs, ys, widths, heights, angles, colours) -> None:
        """Component ellipses: centres, full axes (background pixels), angle of the first axis from +x
        (radians, counter-clockwise) and a colour each."""
        self.components.data = dict(x=list(xs), y=list(ys), width=list(widths), height=list(heights),
                                    angle=list(angles), colour=list(colours))

    def show_catalogue(self, xs, ys) -> None:
        self.catalogue.data = dict(x=list(xs), y=list(ys))

    def style_contours(self, *, colour: str, alpha: float, visible: bool) -> None:
        self.contour_glyph.glyph.line_color = colour
        self.contour_glyph.glyph.line_alpha = alpha
        self.contour_glyph.visible = visible

    # --- zoom ------------------------------------------------------------------------------------

    def _full_view(self) -> tuple[float, float, float, float]:
        ny, nx = self.shape
        side = max(nx, ny)  # square frame, square ranges: a pixel is square on screen
        return ((nx - side) / 2 - 0.5, (nx + side) / 2 - 0.5, (ny - side) / 2 - 0.5, (ny + side) / 2 - 0.5)

    def current_view(self) -> tuple[float, float, float, float]:
        return (self.x_range.start, self.x_range.end, self.y_range.start, self.y_range.end)

    def _set_view(self, view, *, remember: bool = True) -> None:
        if remember:
            self.zoom_history.append(self.current_view())
        self.x_range.update(start=view[0], end=view[1])
        self.y_range.update(start=view[2], end=view[3])
        self._last_view = tuple(view)

    def _on_ranges(self, event) -> None:
        """Wheel zoom and pan happen in the browser; remember where they started so Zoom back works."""
        new = (event.x0, event.x1, event.y0, event.y1)
        if None in new or self._last_view is None:
            return
        # the browser echoes views the server set, in its own float precision: only real moves count
        if not np.allclose(new, self._last_view, rtol=0, atol=1e-3 * (self._last_view[1] - self._last_view[0])):
            self.zoom_history.append(self._last_view)
            self._last_view = new

    def zoom(self, factor: float) -> None:
        """Zoom about the centre of the current view: ``factor`` > 1 zooms in."""
        x0, x1, y0, y1 = self.current_view()
        cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 / factor, (y1 - y0) / 2 / factor
        self._set_view((cx - hw, cx + hw, cy - hh, cy + hh))

    def zoom_back(self) -> bool:
        """Return to the previous view; ``False`` if there is none."""
        if not self.zoom_history:
            return False
        self._set_view(self.zoom_history.pop(), remember=False)
        return True

    def zoom_reset(self) -> None:
        self._set_view(self._full_view())

    def zoomed_out_past_field(self) -> bool:
        x0, x1, _, _ = self.current_view()
        full = self._full_view()
        return (x1 - x0) > 1.01 * (full[1] - full[0])

    def pixels_per_screen_px(self) -> float:
        return (self.x_range.end - self.x_range.start) / self.figure.width

    def set_frame(self, side_px: int) -> None:
        """Draw the view ``side_px`` screen pixels square (the page fits it to the window)."""
        if self.figure.width != side_px:
            self.figure.update(width=side_px, height=side_px)
            self.readout.width = side_px

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane
