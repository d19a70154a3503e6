"""The annotation view: a plain Bokeh figure (fast to repaint) drawn in the background layer's pixel grid.

Pixel ``(x, y)`` of the background is data coordinate ``(x, y)`` of the figure, so a click's data
coordinates are the background pixel it fell on (see :mod:`xid_app.coords`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, Range1d
from bokeh.palettes import Greys256
from bokeh.plotting import figure

from ..imaging import View

FRAME_PX = 600
CONTOUR_COLOUR = "#33ccff"
MARK_COLOUR = "#ff3355"


class Viewer:
    """Owns the Bokeh figure and its data sources; knows nothing about the database."""

    def __init__(self, on_click: Callable[[float, float], None]):
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
        self.contours = ColumnDataSource(dict(xs=[], ys=[]))
        self.marks = ColumnDataSource(dict(x=[], y=[]))
        self.figure.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.image,
                          palette=Greys256, level="image")
        self.figure.multi_line(xs="xs", ys="ys", source=self.contours, line_color=CONTOUR_COLOUR,
                               line_width=1.2, line_alpha=0.9)
        self.figure.scatter(x="x", y="y", source=self.marks, marker="circle_cross", size=22,
                            fill_alpha=0.0, line_color=MARK_COLOUR, line_width=3)
        self.figure.on_event(Tap, lambda event: on_click(event.x, event.y))
        self.shape = (1, 1)

    def show(self, view: View) -> None:
        """Draw a source's view and reset the zoom to the whole field."""
        ny, nx = view.image.shape
        self.shape = (ny, nx)
        side = max(nx, ny)
        self.image.data = dict(image=[view.image], x=[-0.5], y=[-0.5], dw=[nx], dh=[ny])
        lines = view.contours.lines
        self.contours.data = dict(xs=[line[:, 0] for line in lines], ys=[line[:, 1] for line in lines])
        # Square frame, square ranges: a pixel is square on screen.
        self.x_range.update(start=(nx - side) / 2 - 0.5, end=(nx + side) / 2 - 0.5)
        self.y_range.update(start=(ny - side) / 2 - 0.5, end=(ny + side) / 2 - 0.5)
        self.show_marks([], [])

    def show_marks(self, xs, ys) -> None:
        self.marks.data = dict(x=list(xs), y=list(ys))

    def on_image(self, x: float, y: float) -> bool:
        ny, nx = self.shape
        return -0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5
