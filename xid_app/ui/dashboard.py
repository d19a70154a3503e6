"""The admin's survey dashboard: every source on a sky map coloured by its state, drawn by Datashader so
that millions stay fluid (re-aggregated for each zoom and pan), linked to histograms of the answers'
confidence and of answers per source for the sources in view, and a click on the map opens the nearest
source in the expert view.

HoloViews and Datashader here, not on the annotation page: this view is about interactivity over millions
of points, not the last millisecond of a Next (see ../shared/FIELD_NOTES.md).
"""

from __future__ import annotations

import time
from typing import Callable

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import NumeralTickFormatter
from holoviews.operation.datashader import datashade, dynspread

from ..survey import STATES

hv.extension("bokeh", logo=False)

STATE_COLOURS = {"unseen": "#9aa5b1", "in progress": "#3b82f6", "retired": "#16a34a", "flagged": "#f59e0b",
                 "decided": "#c026d3"}
LEVEL_COLOURS = ["#b91c1c", "#f59e0b", "#fde047", "#16a34a"]  # unsure (red) to sure (green)
MAP_PX = 620
DATASHADE_ABOVE = 20_000  # sources; fewer are drawn as points


def _in_view(table: pd.DataFrame, x_range, y_range) -> pd.DataFrame:
    if x_range is None or y_range is None:
        return table
    ra, dec = table["ra"].to_numpy(), table["dec"].to_numpy()
    keep = (ra >= min(x_range)) & (ra <= max(x_range)) & (dec >= min(y_range)) & (dec <= max(y_range))
    return table[keep]


def survey_layout(table: pd.DataFrame, *, on_tap: Callable | None = None, colour: str = "state") -> hv.Layout:
    """The map of a survey table (:meth:`xid_app.survey.SurveyStates.table`) and two histograms of the
    sources in its view (zooming or panning the map narrows them); ``on_tap(x, y)`` hears clicks on the map
    (RA, Dec in degrees). ``colour``: ``"state"``, or ``"level"`` (the answers' calibrated confidence; the
    mean over the sources under each pixel where datashaded; unanswered sources left out)."""
    points = hv.Points(table, kdims=["ra", "dec"], vdims=["state", "level", "answers", "source_id"])
    if colour == "level":
        points = points.select(level=(0.0, 1.0))
    if len(table) > DATASHADE_ABOVE:  # millions: an image re-aggregated for each view
        shaded = (datashade(points, aggregator=ds.mean("level"), cmap=LEVEL_COLOURS, cnorm="linear",
                            min_alpha=80) if colour == "level"
                  else datashade(points, aggregator=ds.count_cat("state"), color_key=STATE_COLOURS, min_alpha=80))
        sky = dynspread(shaded, threshold=0.6, max_px=3)
    elif colour == "level":
        sky = points.opts(color="level", cmap=LEVEL_COLOURS, clim=(0, 1), colorbar=True, size=7, tools=["hover"])
    else:  # a few thousand: the points themselves, with their names on hover
        sky = points.opts(color="state", cmap=STATE_COLOURS, size=7, tools=["hover"], show_legend=False)
    what = "answer confidence" if colour == "level" else "state"
    sky = sky.opts(width=MAP_PX, height=MAP_PX, invert_xaxis=True, xlabel="RA (deg)", ylabel="Dec (deg)",
                   title=f"Sources by {what} (click one to open it)", tools=["tap"],
                   active_tools=["wheel_zoom"])
    view = hv.streams.RangeXY(source=sky)
    top = max(int(table["answers"].max()) if len(table) else 1, 1)

    def levels(x_range, y_range):
        shown = _in_view(table, x_range, y_range)
        return hv.Histogram(np.histogram(shown["level"].dropna(), bins=np.linspace(0, 1, 21)), kdims=["level"],
                            vdims=["sources"]).opts(
            width=420, height=280, title=f"Answer confidence ({len(shown):,} sources in view)",
            xlabel="calibrated probability", ylabel="sources", color="#3b82f6", yformatter=_counts())

    def answers(x_range, y_range):
        shown = _in_view(table, x_range, y_range)
        return hv.Histogram(np.histogram(shown["answers"], bins=np.arange(0, top + 2) - 0.5), kdims=["answers"],
                            vdims=["sources"]).opts(
            width=420, height=280, title="Answers per source (in view)", xlabel="answers", ylabel="sources",
            color="#16a34a", yformatter=_counts())

    if on_tap is not None:
        hv.streams.Tap(source=sky, x=None, y=None).add_subscriber(on_tap)
    return (sky + hv.DynamicMap(levels, streams=[view]) + hv.DynamicMap(answers, streams=[view])).cols(2)


def _counts() -> NumeralTickFormatter:
    """Axis labels 1.4m, not 1.400e+6 (a model of its own per plot: a Bokeh model lives in one document)."""
    return NumeralTickFormatter(format="0.[0]a")


def state_legend() -> str:
    return " ".join(f'<span style="color:{STATE_COLOURS[s]}">●</span> {s}' for s in STATES)


def level_legend() -> str:
    stops = ", ".join(LEVEL_COLOURS)
    return (f'0 <span style="display:inline-block;width:120px;height:10px;background:linear-gradient(to right, '
            f'{stops})"></span> 1 (calibrated probability that the answer is right; unanswered sources not shown)')


class SurveyDashboard(pn.viewable.Viewer):
    """The survey map for the admin page: drawn on demand (a survey of millions takes a few seconds to read)."""

    def __init__(self, table_of: Callable[[], pd.DataFrame], on_pick: Callable[[int], None]):
        super().__init__()
        self._table_of, self._on_pick = table_of, on_pick
        self._table: pd.DataFrame | None = None
        self.draw_button = pn.widgets.Button(label="Draw the survey map", color="primary", width=190)
        self.summary = pn.pane.HTML("", css_classes=["xid-survey-summary"])
        self.plots = pn.Column(css_classes=["xid-survey-plots"])
        self.colour = pn.widgets.RadioButtonGroup(options={"State": "state", "Answer confidence": "level"},
                                                  value="state", css_classes=["xid-survey-colour"])
        self.legend = pn.pane.HTML(state_legend(), align="center")
        self.draw_button.on_click(lambda _: self.draw())
        self.colour.param.watch(lambda _: self._redraw(), "value")
        self._layout = pn.Column(
            pn.pane.HTML("Every source by state or by how sure its answer is; zoom and pan re-aggregate the map "
                         "and narrow the histograms to the sources in view; click a source to open it in the "
                         "Expert queue tab."),
            pn.Row(self.draw_button, pn.pane.HTML("Colour by", align="center"), self.colour, self.legend),
            self.summary, self.plots)

    def draw(self) -> None:
        table = self._table = self._table_of()
        counts = table["state"].value_counts()
        as_of = time.strftime("%H:%M:%S", time.localtime(table.attrs.get("as_of", time.time())))
        self.summary.object = f"{len(table):,} sources: " + ", ".join(
            f"{counts.get(s, 0):,} {s}" for s in STATES) + f" (answers as of {as_of})."
        self._redraw()

    def _redraw(self) -> None:
        """The map again, coloured as chosen, from the table already read."""
        if self._table is None:
            return
        self.legend.object = state_legend() if self.colour.value == "state" else level_legend()
        self.plots[:] = [pn.pane.HoloViews(survey_layout(self._table, on_tap=self._tapped, colour=self.colour.value),
                                           linked_axes=False)]

    def _tapped(self, x=None, y=None) -> None:
        if x is None or y is None or self._table is None or not len(self._table):
            return
        t = self._table
        d2 = ((t["ra"].to_numpy() - x) * np.cos(np.radians(y))) ** 2 + (t["dec"].to_numpy() - y) ** 2
        self._on_pick(int(t["source_pk"].iloc[int(np.argmin(d2))]))

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
