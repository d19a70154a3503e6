"""The page's controls whose state is a choice the user makes: how a source is drawn (:class:`ImageControls`)
and what they say about it besides the marks (:class:`AnswerForm`). The choices are parameters; the widgets
are made from them."""

from __future__ import annotations

import panel as pn
import param

from ..answers import FLAGS, MAX_COMMENT_LENGTH
from ..imaging import INTERVALS, STRETCHES, Display
from .viewer import CONTOUR_COLOUR

STEPS = {"√2": 2**0.5, "2": 2.0}
FLAG_LABELS = {"artefact": "Artefact", "blend": "Blend", "too_zoomed_in": "Too zoomed in", "unsure": "Unsure"}
MAX_TYPED_ID_LENGTH = 200  # the text box says so too; the server does not trust the browser on it
TYPED_ID_PLACEHOLDER = "Catalogue ID, or RA Dec"  # the keyboard's "i" finds the box by it
assert set(FLAG_LABELS) == set(FLAGS), "every flag has a label on the page"


class ImageControls(pn.viewable.Viewer):
    """How a source is drawn, as the user chooses it.

    The layer choices are positions among the source's readable layers (as :class:`Display` counts them);
    their options change with the source (:meth:`show_layers`).
    """

    background = param.Integer(default=None, allow_None=True, label="Image")
    interval = param.Selector(default="auto", objects=list(INTERVALS), label="Limits")
    stretch = param.Selector(default="auto", objects=["auto", *STRETCHES])
    contours = param.Boolean(default=True, label="Contours")
    catalogue = param.Boolean(default=False, label="Catalogue objects")
    contours_from = param.Integer(default=None, allow_None=True, label="Contours of")
    floor_sigma = param.Number(default=4.0, bounds=(2, 10), step=0.5, label="Lowest contour (σ)")
    step = param.Selector(default="√2", objects=list(STEPS), label="Step")
    colour = param.Color(default=CONTOUR_COLOUR, label="Colour")
    opacity = param.Number(default=0.9, bounds=(0.1, 1.0), step=0.05, label="Opacity")

    # parameters that change what is composed (the rest restyle what is drawn)
    DISPLAY = ("background", "interval", "stretch", "contours_from", "floor_sigma", "step")
    STYLE = ("contours", "colour", "opacity")

    def __init__(self, display: Display, **params):
        params.setdefault("interval", display.interval)
        params.setdefault("floor_sigma", display.floor_sigma)
        params.setdefault("step", min(STEPS, key=lambda k: abs(STEPS[k] - display.step)))
        super().__init__(**params)
        widget = pn.widgets
        self._layer = widget.Select.from_param(self.param.background, options={}, width=200)
        self._contour_layer = widget.Select.from_param(self.param.contours_from, options={}, width=180)
        self._card = pn.Card(
            pn.Row(self._layer, widget.Select.from_param(self.param.interval, width=120)),
            widget.RadioButtonGroup.from_param(self.param.stretch, width=330, color="default"),
            pn.Row(widget.Checkbox.from_param(self.param.contours, width=100, css_classes=["xid-contours-on"]),
                   widget.Checkbox.from_param(self.param.catalogue, width=160, css_classes=["xid-catalogue-on"])),
            pn.Row(self._contour_layer, widget.FloatSlider.from_param(self.param.floor_sigma, width=145)),
            pn.Row(widget.Select.from_param(self.param.step, width=120),
                   widget.FloatSlider.from_param(self.param.opacity, width=120),
                   widget.ColorPicker.from_param(self.param.colour, width=70)),
            title="Image and contours", collapsed=False, width=360,
        )

    def display_change(self, name: str, value) -> dict:
        """The :class:`Display` change a new value of parameter ``name`` asks for."""
        if name == "stretch":
            return dict(stretch=None if value == "auto" else value)
        if name == "step":
            return dict(step=STEPS[value])
        if name == "floor_sigma":
            return dict(floor_sigma=float(value))
        return {name: value}

    def next_layer(self) -> None:
        """Show the next image layer as the background."""
        options = list(self._layer.options.values())
        if len(options) > 1:
            self.background = options[(options.index(self.background) + 1) % len(options)]

    def show_layers(self, layers, background: int | None, contours: int | None) -> None:
        """Offer a source's readable layers (``Layer`` objects, in display order) and select the drawn ones."""
        self._layer.options = {f"{layer.band} ({layer.kind})": i for i, layer in enumerate(layers)}
        self._contour_layer.options = {layer.band: i for i, layer in enumerate(layers) if layer.kind == "radio"}
        self.param.update(**{k: v for k, v in (("background", background), ("contours_from", contours))
                             if v is not None})

    def contour_style(self) -> dict:
        return dict(colour=self.colour, alpha=self.opacity, visible=self.contours)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card


class AnswerForm(param.Parameterized):
    """Flags and a comment on the current source, and the box for typing a host's ID or position.

    ``flags`` is a plain list rather than a selector so that a value the page never offers (sent by a
    hand-made client) reaches the page's check and is refused with a message, not an exception in Panel.
    """

    flags = param.List(default=[], item_type=str)
    comment = param.String(default="")
    typed = param.String(default="", doc="an optical/IR catalogue ID, or RA Dec in degrees or sexagesimal")
    clicks = param.Selector(default="host", objects=["host", "components"],
                            doc="what a click on the image does where the field has radio components")

    def __init__(self, **params):
        super().__init__(**params)
        widget = pn.widgets
        self.flag_buttons = widget.CheckButtonGroup.from_param(
            self.param.flags, name="", options={label: flag for flag, label in FLAG_LABELS.items()},
            color="default", variant="outline", width=330)
        self.comment_box = widget.TextAreaInput.from_param(
            self.param.comment, name="", placeholder="Comment (optional)", max_length=MAX_COMMENT_LENGTH,
            height=60, width=330)
        self.typed_box = widget.TextInput.from_param(
            self.param.typed, name="", placeholder=TYPED_ID_PLACEHOLDER, width=250,
            max_length=MAX_TYPED_ID_LENGTH)
        self.go = widget.Button(label="GO", color="primary", width=60)
        self.click_mode = widget.RadioButtonGroup.from_param(
            self.param.clicks, name="", options={"Click marks the host": "host", "Click picks components": "components"},
            color="default", width=330, visible=False, css_classes=["xid-click-mode"])
        self.add_component = widget.Button(label="+ Component (g)", width=120, visible=False)
        self.another_source = widget.Button(label="Another source (a)", width=140, visible=False)

    def show_grouping(self, visible: bool) -> None:
        """Offer the component controls only where the field has components."""
        for widget in (self.click_mode, self.add_component, self.another_source):
            widget.visible = visible

    def toggle_flag(self, flag: str) -> None:
        self.flags = sorted(set(self.flags) ^ {flag})
