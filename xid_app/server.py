"""Serving XID with Panel: the annotation page at ``/``, the admin page at ``/admin``, login at ``/login``.

Login is required as soon as any user has a password (``xid users add``); the logged-in user comes from a
signed cookie, never from anything the page sends. Without passwords the page asks for a name (open mode).
"""

from __future__ import annotations

import secrets
import threading

import panel as pn
from panel.auth import BasicAuthProvider, BasicLoginHandler

from .project import Project
from .resources import static_dir
from .store import repository
from .ui.admin import AdminPage
from .ui.annotate import AnnotationPage
from .ui.session import AnnotationSession

LOGIN_URL = "/login"
LOGOUT_URL = "/logout"


def auth_provider(project: Project) -> BasicAuthProvider:
    """Panel's login and logout pages, checking passwords against the argon2 hashes in the database."""

    class LoginHandler(BasicLoginHandler):
        def _validate(self, username, password):
            with project.session() as session:
                return repository.authenticate(session, name=username, password=password) is not None

    class Provider(BasicAuthProvider):
        @property
        def login_handler(self):
            LoginHandler._login_endpoint = self._login_endpoint
            LoginHandler._login_template = self._login_template
            return LoginHandler

    return Provider(login_endpoint=LOGIN_URL, logout_endpoint=LOGOUT_URL,
                    login_template=str(static_dir() / "login.html"))


def _styled(layout):
    layout.stylesheets = [(static_dir() / "xid.css").read_text()]
    return layout


def create_app(project: Project, *, login: bool) -> pn.viewable.Viewable:
    """The annotation page for one browser session."""
    user = pn.state.user if login else None
    page = AnnotationPage(AnnotationSession(project), user=user, logout_url=f".{LOGOUT_URL}" if login else None)
    return _styled(page.layout)


def create_admin(project: Project, *, login: bool) -> pn.viewable.Viewable:
    """The admin page for one browser session; anyone but an admin gets a refusal and nothing else."""
    if not login:
        return _styled(pn.Column(pn.pane.Alert(
            "The admin page needs a login. Create an admin with `xid users add NAME --admin` and restart "
            "`xid serve`.", alert_type="warning")))
    with project.session() as session:
        user = repository.user_by_name(session, name=pn.state.user or "")
        role = user.role if user else None
    if role != "admin":
        return _styled(pn.Column(pn.pane.Alert("Only admins can open this page.", alert_type="danger",
                                               css_classes=["xid-forbidden"])))
    return _styled(AdminPage(project, user=pn.state.user, logout_url=f".{LOGOUT_URL}").layout)


class UnsafeToServe(RuntimeError):
    """Production mode and a configuration that would let strangers in."""


def serve(project: Project, *, port: int, address: str, show: bool = False) -> None:
    """Serve until interrupted. ``/liveness`` answers when the server is up.

    Raises
    ------
    UnsafeToServe
        In production mode (``XID_PRODUCTION``), if there are no logins or the cookie secret is unsafe.
    """
    with project.session() as session:
        login = repository.login_required(session)
    problems = project.settings.security_problems(login_required=login)
    if problems and project.settings.production:
        raise UnsafeToServe("production mode refuses to serve: " + "; ".join(problems))
    for problem in problems:
        print(f"warning: {problem}", flush=True)
    origins = [f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)]
    origins += project.settings.allow_websocket_origin
    secret = project.settings.cookie_secret or secrets.token_urlsafe(32)
    # signed session ids: a client cannot make up or guess another browser's session
    extra: dict = dict(sign_sessions=True, secret_key=secret)
    if login:
        extra.update(auth_provider=auth_provider(project), cookie_secret=secret)

        def authorize(user_info, path):
            if not path.rstrip("/").endswith("/admin"):
                return True
            with project.session() as session:
                user = repository.user_by_name(session, name=(user_info or {}).get("user", ""))
                return user is not None and user.role == "admin"

        pn.config.authorize_callback = authorize
    # a catalogue of millions of objects takes seconds to index, the queue a consensus run: start both now,
    # not at the first click and the first Next
    threading.Thread(target=project.catalogue_index, name="xid-catalogue", daemon=True).start()
    project.queue()
    mode = "login required" if login else "open mode: no user has a password, the page asks for a name"
    print(f"XID serving {project.url} at http://{address}:{port}/ ({mode})", flush=True)
    pn.serve(
        {"/": lambda: create_app(project, login=login), "/admin": lambda: create_admin(project, login=login)},
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
