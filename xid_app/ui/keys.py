"""Keyboard shortcuts: Panel has no widget for them, so a small JSComponent listens to ``keydown``."""

from __future__ import annotations

import re
from typing import Callable

import param
from panel.custom import JSComponent

# key → (action name, description); one table drives the listener, the dispatcher and the help overlay
SHORTCUTS: dict[str, tuple[str, str]] = {
    "n": ("next", "Save the answer and go to the next source"),
    "Enter": ("next", "Same as n"),
    "b": ("back", "Back to the previous source (change your answer)"),
    "s": ("skip", "Skip this source without answering"),
    "r": ("randomise", "Randomiser: a random source you have not done"),
    "x": ("no_host", "No host visible: save and go on"),
    "c": ("clear", "Clear your marks (and component groups) on this source"),
    "g": ("add_component", "Add the nearest free radio component to the source you are marking"),
    "G": ("remove_component", "Take the last added component out of that source"),
    "a": ("another_source", "Mark another source in this field: group its components, then its host"),
    "m": ("click_mode", "Switch what a click does: mark the host / pick components"),
    "1": ("flag_artefact", "Flag: artefact"),
    "2": ("flag_blend", "Flag: blend"),
    "3": ("flag_too_zoomed_in", "Flag: too zoomed in"),
    "4": ("flag_unsure", "Flag: unsure"),
    "+": ("zoom_in", "Zoom in"),
    "=": ("zoom_in", "Zoom in"),
    "-": ("zoom_out", "Zoom out"),
    "z": ("zoom_back", "Zoom back to the previous view"),
    "0": ("zoom_reset", "Show the whole field"),
    "l": ("next_layer", "Next image layer (band)"),
    "k": ("toggle_contours", "Contours on / off"),
    "o": ("toggle_catalogue", "Catalogue objects on / off"),
    "i": ("focus_id", "Type a match ID or position"),
    "?": ("help", "Show or hide this help"),
    "Escape": ("close_help", "Close the help"),
}


ANSWER_ID = re.compile(r"[0-9A-Za-z_-]{8,64}")  # the browser makes 32 hex digits; the server trusts no more


def valid_answer_id(value: object) -> bool:
    """Whether a browser's answer id is one XID could have made: short, plain ASCII (it becomes a
    classification id, exported and re-imported)."""
    return isinstance(value, str) and ANSWER_ID.fullmatch(value) is not None


class KeyShortcuts(JSComponent):
    """Invisible listener: sends the action of each shortcut key to Python (ignored while typing)."""

    keys = param.Dict(default={k: v[0] for k, v in SHORTCUTS.items()}, doc="key → action")
    shown = param.String(default="", doc="Server → browser: changes whenever a new answer is begun")
    answer_id = param.String(default="", doc="Browser → server: the browser's id for the answer on screen")
    answer_for = param.String(default="", doc="Browser → server: the ``shown`` value that id was made for")
    viewport = param.List(default=[], doc="Browser → server: the window's inner [width, height] in CSS px")

    _esm = """
    export function render({ model }) {
      // every answer gets an id made in the browser, so a replayed or double-clicked submission lands once
      const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
                                     (b) => b.toString(16).padStart(2, "0")).join("");
      const begin = () => {
        if (!model.shown) return;
        model.answer_for = model.shown;  // which answer on screen this id is for
        model.answer_id = newId();
      };
      model.on("shown", begin);
      begin();
      const typing = (event) => {
        const target = event.composedPath()[0];
        const tag = (target && target.tagName) || "";
        return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
      };
      const handler = (event) => {
        if (event.ctrlKey || event.metaKey || event.altKey) return;
        const action = model.keys[event.key];
        if (!action) return;
        if (typing(event)) {
          if (event.key !== "Escape") return;
          event.composedPath()[0].blur();
        }
        event.preventDefault();
        if (action === "focus_id") {  // focus is a browser matter: find the ID box through the shadow roots
          const box = findDeep(document, 'input[placeholder^="Catalogue ID"]');
          if (box) box.focus();
          return;
        }
        model.send_msg({ action: action });
      };
      const findDeep = (root, selector) => {
        const hit = root.querySelector(selector);
        if (hit) return hit;
        for (const el of root.querySelectorAll("*")) {
          if (el.shadowRoot) {
            const inner = findDeep(el.shadowRoot, selector);
            if (inner) return inner;
          }
        }
        return null;
      };
      // the page sizes the image to the window: tell the server the window's size, and again after a resize
      let resizing = null;
      const measure = () => { model.viewport = [window.innerWidth, window.innerHeight]; };
      const onResize = () => { clearTimeout(resizing); resizing = setTimeout(measure, 250); };
      measure();
      window.addEventListener("resize", onResize);
      model.on("remove", () => window.removeEventListener("resize", onResize));
      document.addEventListener("keydown", handler);
      model.on("remove", () => document.removeEventListener("keydown", handler));
      const el = document.createElement("span");
      el.className = "xid-keys";
      return el;
    }
    """

    def __init__(self, on_action: Callable[[str], None], **params):
        super().__init__(**params)
        self._on_action = on_action

    def _handle_msg(self, msg) -> None:
        action = msg.get("action") if isinstance(msg, dict) else None
        if action in {v[0] for v in SHORTCUTS.values()}:
            self._on_action(action)


def help_markdown() -> str:
    """The help overlay's text, made from :data:`SHORTCUTS`."""
    rows = ["| key | action |", "|---|---|"]
    for key, (_, text) in SHORTCUTS.items():
        label = {"Enter": "Enter", "Escape": "Esc"}.get(key, key)
        rows.append(f"| <kbd>{label}</kbd> | {text} |")
    return "\n".join(rows)
