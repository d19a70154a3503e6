"""Serving the annotation page with Panel: one :class:`AnnotationPage` per browser session."""

from __future__ import annotations

import panel as pn

from .project import Project
from .resources import static_dir
from .ui.annotate import AnnotationPage


def create_app(project: Project) -> pn.viewable.Viewable:
    """The page for one browser session."""
    stylesheet = (static_dir() / "xid.css").read_text()
    page = AnnotationPage(project)
    page.layout.stylesheets = [stylesheet]
    return page.layout


def serve(project: Project, *, port: int, address: str, show: bool = False) -> None:
    """Serve the page until interrupted. ``/liveness`` answers when the server is up."""
    origins = [f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)]
    origins += project.settings.allow_websocket_origin
    print(f"XID serving {project.url} at http://{address}:{port}/", flush=True)
    pn.serve(
        {"/": lambda: create_app(project)},
        port=port,
        address=address,
        websocket_origin=sorted(set(origins)),
        show=show,
        title="XID",
        liveness=True,
        static_dirs={"xid-static": str(static_dir())},
        start=True,
    )
