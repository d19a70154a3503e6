"""The "Image and contours" controls: which layer is the background, stretch and limits, the contours'
layer, lowest level, step, colour and opacity, and the catalogue overlay."""

from __future__ import annotations

import panel as pn

from ..imaging import INTERVALS, STRETCHES, Display
from .viewer import CONTOUR_COLOUR

STEPS = {"√2": 2**0.5, "2": 2.0}


class ImageControls(pn.viewable.Viewer):
    """The widgets that choose how a source is drawn.

    Parameters
    ----------
    display : Display
        The display the controls start from.
    """

    def __init__(self, display: Display, **params):
        super().__init__(**params)
        self.layer = pn.widgets.Select(label="Image", options={}, width=150)
        self.stretch = pn.widgets.RadioButtonGroup(options=["auto", *STRETCHES], value="auto", width=310,
                                                   color="default")
        self.interval = pn.widgets.Select(label="Limits", options=list(INTERVALS), value=display.interval, width=150)
        self.contours_on = pn.widgets.Checkbox(label="Contours", value=True, width=100, css_classes=["xid-contours-on"])
        self.contour_layer = pn.widgets.Select(label="Contours of", options={}, width=150)
        self.floor = pn.widgets.FloatSlider(label="Lowest contour (σ)", start=2, end=10, step=0.5,
                                            value=display.floor_sigma, width=150)
        self.step = pn.widgets.Select(label="Step", options=list(STEPS),
                                      value=min(STEPS, key=lambda k: abs(STEPS[k] - display.step)), width=150)
        self.colour = pn.widgets.ColorPicker(label="Colour", value=CONTOUR_COLOUR, width=80)
        self.opacity = pn.widgets.FloatSlider(label="Opacity", start=0.1, end=1.0, step=0.05, value=0.9, width=150)
        self.catalogue_on = pn.widgets.Checkbox(label="Catalogue objects", value=False, width=160,
                                                css_classes=["xid-catalogue-on"])
        self._card = pn.Card(
            pn.Row(self.layer, self.interval), self.stretch,
            pn.Row(self.contours_on, self.catalogue_on),
            pn.Row(self.contour_layer, self.floor), pn.Row(self.step, self.opacity), self.colour,
            title="Image and contours", collapsed=False, width=340,
        )

    def display_changes(self) -> dict:
        """Widget → the :class:`Display` change its new value asks for."""
        return {
            self.layer: lambda v: dict(background=v),
            self.contour_layer: lambda v: dict(contours_from=v),
            self.stretch: lambda v: dict(stretch=None if v == "auto" else v),
            self.interval: lambda v: dict(interval=v),
            self.floor: lambda v: dict(floor_sigma=float(v)),
            self.step: lambda v: dict(step=STEPS[v]),
        }

    def style_widgets(self) -> tuple:
        """Widgets that restyle the drawing without composing it again."""
        return self.contours_on, self.colour, self.opacity

    def next_layer(self) -> None:
        """Show the next image layer as the background."""
        options = list(self.layer.options.values())
        if len(options) > 1:
            self.layer.value = options[(options.index(self.layer.value) + 1) % len(options)]

    def show_layers(self, layers, background: int | None, contours: int | None) -> None:
        """Offer a source's readable layers (``Layer`` objects, in display order) and select the drawn ones."""
        self.layer.options = {f"{layer.band} ({layer.kind})": i for i, layer in enumerate(layers)}
        self.contour_layer.options = {layer.band: i for i, layer in enumerate(layers) if layer.kind == "radio"}
        if background is not None:
            self.layer.value = background
        if contours is not None:
            self.contour_layer.value = contours

    def contour_style(self) -> dict:
        return dict(colour=self.colour.value, alpha=self.opacity.value, visible=self.contours_on.value)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card
