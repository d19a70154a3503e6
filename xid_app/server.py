"""Serving XID with Panel: the annotation page at ``/``, the admin page at ``/admin``, login at ``/login``.

Login is required as soon as any user has a password (``xid users add``); the logged-in user comes from a
signed cookie, never from anything the page sends. Without passwords the page asks for a name (open mode).
"""

from __future__ import annotations

import secrets
import threading

import panel as pn

from .auth import ActiveLogin
from .pauses import FrozenPages
from .project import Project
from .resources import static_dir
from .ui.admin import AdminPage
from .ui.annotate import LOGOUT_STYLE, AnnotationPage
from .ui.messages import as_text
from .ui.session import AnnotationSession
from .webauth import LOGOUT_URL, ClosedRoute, Logins


def _styled(layout):
    layout.stylesheets = [(static_dir() / "xid.css").read_text()]
    return layout


def _page_login(logins: Logins) -> ActiveLogin:
    """The login the page being made was asked for by (kept on the request by :meth:`Logins.user_of`), bound
    to the page so that no other login can open its websocket."""
    context = pn.state.curdoc.session_context
    login = getattr(context.request, "xid_login", None)
    if login is None:  # Bokeh let the request through, so it had a login: never expected
        raise PermissionError("no login for this page")
    path = context.request.path
    logins.bind_page(path, context.id, login)
    pn.state.on_session_destroyed(lambda ctx: logins.unbind_page(path, ctx.id, login))
    return login


def logout_form(logins: Logins, login: ActiveLogin) -> str:
    """The page's Log out control: a POST carrying the login's own logout token."""
    return (f'<form method="post" action=".{LOGOUT_URL}" class="xid-logout">'
            f'<input type="hidden" name="logout_token" value="{logins.logout_token(login)}">'
            '<button type="submit">Log out</button></form>')


def create_app(project: Project, logins: Logins | None) -> pn.viewable.Viewable:
    """The annotation page for one browser session: for its login's user, or (open mode) asking a name."""
    session = AnnotationSession(project)
    if logins is None:
        return _styled(AnnotationPage(session, ask_name=True).layout)
    login = _page_login(logins)
    session.attach_login(login)
    page = AnnotationPage(session, ask_name=False, logout=logout_form(logins, login))
    return _styled(page.layout)


def create_admin(project: Project, logins: Logins | None) -> pn.viewable.Viewable:
    """The admin page for one browser session; anyone but an admin gets a refusal and nothing else."""
    if logins is None:
        return _styled(pn.Column(pn.pane.Alert(
            "The admin page needs a login. Create an admin with `xid users add NAME --admin` and restart "
            "`xid serve`.", alert_type="warning")))
    login = _page_login(logins)
    if login.role != "admin":
        return _styled(pn.Column(
            pn.pane.HTML("<h2>XID · admin</h2>", css_classes=["xid-brand"]),
            pn.pane.Alert(f"This page is for admins, and {as_text(login.user_name)} is an annotator. Ask an admin "
                          "of your team if you need it.", alert_type="warning", css_classes=["xid-forbidden"]),
            pn.Row(pn.pane.HTML('<a href="./" class="xid-home">Back to the annotation page</a>', align="center"),
                   pn.pane.HTML(logout_form(logins, login), stylesheets=[LOGOUT_STYLE], align="center")),
            css_classes=["xid-page"]))
    return _styled(AdminPage(project, login=login, logout=logout_form(logins, login)).layout)


def _watched(pages: FrozenPages, page: pn.viewable.Viewable) -> pn.viewable.Viewable:
    """``page``, its objects frozen once it has loaded and its leftovers counted when it closes."""
    pn.state.onload(pages.page_open)
    pn.state.on_session_destroyed(lambda ctx: pages.page_closed())
    return page


class UnsafeToServe(RuntimeError):
    """Production mode and a configuration that would let strangers in."""


def serve(project: Project, *, port: int, address: str, show: bool = False) -> None:
    """Serve until interrupted. ``/liveness`` answers when the server is up.

    Raises
    ------
    UnsafeToServe
        In production mode (``XID_PRODUCTION``), if there are no logins or the cookie secret is unsafe.
    """
    login = project.login_required()
    problems = project.settings.security_problems(login_required=login)
    if problems and project.settings.production:
        raise UnsafeToServe("production mode refuses to serve: " + "; ".join(problems))
    for problem in problems:
        print(f"warning: {problem}", flush=True)
    origins = [f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)]
    origins += project.settings.allow_websocket_origin
    secret = project.settings.cookie_secret or secrets.token_urlsafe(32)
    extra: dict = dict(
        sign_sessions=True, secret_key=secret,  # signed session ids: a client cannot make up another's session
        include_cookies=[], exclude_headers=["Cookie"],  # the page's token (in its HTML) carries no cookie
        extra_patterns=[(r"/components/(.*)", ClosedRoute)],  # before Panel's own route of that name
    )
    logins = Logins(project, secret=secret, prefix=project.settings.prefix) if login else None
    if logins is not None:
        extra.update(auth_provider=logins, cookie_secret=secret)
    # a catalogue of millions of objects takes seconds to index, the queue a consensus run: start both now,
    # not at the first click and the first Next
    threading.Thread(target=project.optical_catalogue, name="xid-catalogue", daemon=True).start()
    project.assignment.queue()
    mode = "login required" if login else "open mode: no user has a password, the page asks for a name"
    print(f"XID serving {project.url} at http://{address}:{port}/ ({mode})", flush=True)
    pages = FrozenPages()
    pages.server_started()
    pn.serve(
        {"/": lambda: _watched(pages, create_app(project, logins)),
         "/admin": lambda: _watched(pages, create_admin(project, logins))},
        port=port,
        address=address,
        websocket_origin=sorted(set(origins)),
        show=show,
        title="XID",
        liveness=True,
        static_dirs={"xid-static": str(static_dir())},
        prefix=project.settings.prefix,
        use_xheaders=project.settings.behind_proxy,
        start=True,
        **extra,
    )
