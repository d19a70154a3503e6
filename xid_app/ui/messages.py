"""The page's message bar: one message at a time, plain escaped text in a box coloured by its kind."""

from __future__ import annotations

import html

import panel as pn
import param

HEIGHT = 88  # px: room for a three-line message, kept while none shows, so the image never moves under the pointer
# never Markdown: user text (source IDs, names) can hold links and images
STYLE = """
.xid-alert { padding: 6px 12px; border: 1px solid transparent; border-radius: 4px; margin: 0; line-height: 1.4; }
.xid-alert-info { color: #055160; background: #cff4fc; border-color: #b6effb; }
.xid-alert-success { color: #0f5132; background: #d1e7dd; border-color: #badbcc; }
.xid-alert-warning { color: #664d03; background: #fff3cd; border-color: #ffecb5; }
.xid-alert-danger { color: #842029; background: #f8d7da; border-color: #f5c2c7; }
"""


def as_text(value: str) -> str:
    """User-supplied text shown as text, never as HTML or Markdown."""
    return html.escape(value, quote=True)


class MessageBar(pn.viewable.Viewer):
    """The message the page shows (empty: none)."""

    text = param.String(default="", doc="What to say; shown as plain text")
    kind = param.Selector(default="info", objects=["info", "success", "warning", "danger"])

    def __init__(self, **params):
        super().__init__(**params)
        self._pane = pn.pane.HTML("", visible=False, css_classes=["xid-message"], stylesheets=[STYLE],
                                  sizing_mode="stretch_width")
        self._layout = pn.Column(self._pane, height=HEIGHT, sizing_mode="stretch_width", margin=0, scroll=True)

    @param.depends("text", "kind", watch=True)
    def _render(self) -> None:
        html_text = f'<div class="xid-alert xid-alert-{self.kind}" role="status">{as_text(self.text)}</div>' \
            if self.text else ""
        if (self._pane.object, self._pane.visible) != (html_text, bool(self.text)):  # a repaint costs: only on change
            self._pane.param.update(object=html_text, visible=bool(self.text))

    @property
    def html(self) -> str:
        """What the browser is sent: the message as escaped HTML ('' when none shows)."""
        return self._pane.object

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
