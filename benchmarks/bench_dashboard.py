"""The admin's survey map at survey scale: 1,000,000 sources (a LoTSS-like footprint, states and levels as a
survey part-way through has them). Timed on the server, where the work is: the first draw (the map
datashaded to an image, the histograms, the Bokeh models built) and a pan (the map re-aggregated and the
histograms recomputed for the new view). Baseline in the same run: the same points as a plain Bokeh
scatter, the figure built and its 1,000,000 points serialised — what the map would cost without Datashader.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from xid_app.survey import STATES


def survey_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ra = rng.uniform(120, 250, n)
    dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(25)), np.sin(np.radians(70)), n)))
    state = rng.choice(len(STATES), n, p=[0.55, 0.2, 0.2, 0.03, 0.02])
    answers = np.where(state == 0, 0, rng.integers(1, 21, n))
    return pd.DataFrame({"source_pk": np.arange(n), "source_id": np.char.add("S", np.arange(n).astype(str)),
                         "ra": ra, "dec": dec, "state": pd.Categorical.from_codes(state, categories=list(STATES)),
                         "answers": answers, "level": np.where(answers > 0, rng.beta(5, 1, n), np.nan)})


def run(quick: bool = False) -> list[dict]:
    import holoviews as hv
    from bokeh.embed import json_item
    from bokeh.plotting import figure

    from xid_app.ui.dashboard import survey_layout

    n = 100_000 if quick else 1_000_000
    table = survey_table(n)
    started = time.perf_counter()
    layout = survey_layout(table)
    plot = hv.renderer("bokeh").get_plot(layout)
    json_item(plot.state)
    first = time.perf_counter() - started

    # a pan: the new view sent to the map's and the histograms' range streams; the plot, subscribed to them,
    # re-aggregates the map and recomputes the histograms and updates its Bokeh models
    started = time.perf_counter()
    for element in layout:
        element.event(x_range=(150.0, 170.0), y_range=(40.0, 50.0))
    pan = time.perf_counter() - started

    started = time.perf_counter()
    fig = figure(width=620, height=620)
    fig.scatter(table["ra"].to_numpy(), table["dec"].to_numpy(), size=2)
    json_item(fig)
    plain = time.perf_counter() - started
    goal = "baseline: the same points as a plain Bokeh scatter, built and serialised"
    return [dict(name=f"survey map, {n:,} sources: first draw", value=first, unit="s", baseline=plain,
                 ratio=first / plain, goal=goal),
            dict(name=f"survey map, {n:,} sources: a pan (re-aggregated)", value=pan, unit="s", baseline=plain,
                 ratio=pan / plain, goal=goal)]
