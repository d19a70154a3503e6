"""Logins for ``xid serve``: the login and logout pages, the check of every request and websocket, and the
binding of each page to the login that asked for it.

- A browser's ``xid_login`` cookie (signed, HttpOnly, SameSite=Lax) holds a random token naming a login kept
  in the database (:mod:`xid_app.store.logins`): logging out ends it for every process and every open page.
- Passwords are checked off the event loop (argon2 takes ~0.1 s of CPU), after the attempt has been counted
  by the :class:`~xid_app.throttle.Throttle`; a refused attempt costs the server nothing.
- The login form carries Tornado's XSRF token; logging out is a POST carrying a token bound to the login.
- A page's session token (in the page's HTML) is honoured only on a websocket of the login the page was
  made for, and carries no cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from concurrent.futures import ThreadPoolExecutor

import jinja2
from bokeh.server.auth_provider import AuthProvider
from bokeh.util.token import get_session_id
from markupsafe import Markup
from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler
from tornado.websocket import WebSocketHandler

from .auth import MAX_PASSWORD_LENGTH, ActiveLogin
from .limits import USER_NAME
from .project import Project
from .resources import static_dir
from .throttle import Throttle

log = logging.getLogger(__name__)

LOGIN_URL = "/login"
LOGOUT_URL = "/logout"
LOGIN_COOKIE = "xid_login"
DEVICE_COOKIE = "xid_device"  # "this browser has logged in to this account before" (see throttle.py)
DEVICE_DAYS = 90
MAX_WAITING_CHECKS = 8  # password checks queued at once; beyond, "busy" at once rather than a growing queue

_password_checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xid-password")
_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(str(static_dir())), autoescape=True)


class Logins(AuthProvider):
    """Bokeh's hooks for logins, checked against the project's database.

    Parameters
    ----------
    project : Project
    secret : str
        The cookie secret (also keys the logout tokens).
    prefix : str
        The URL path XID is served under ("" at the root).
    """

    def __init__(self, project: Project, *, secret: str, prefix: str = ""):
        self.project, self.secret, self.prefix = project, secret, prefix.rstrip("/")
        self.throttle = Throttle()
        self.waiting_checks = 0
        self._pages: dict[tuple[str, str], int] = {}  # (app path, Bokeh session id) → the login whose page it is
        super().__init__()

    # --- Bokeh's hooks --------------------------------------------------------------------------

    @property
    def get_user(self):
        return self.user_of

    @property
    def login_url(self) -> str:
        return LOGIN_URL

    @property
    def logout_url(self) -> str:
        return LOGOUT_URL

    @property
    def login_handler(self):
        return type("XIDLoginPage", (LoginPage,), {"logins": self})

    @property
    def logout_handler(self):
        return type("XIDLogoutPage", (LogoutPage,), {"logins": self})

    # --- who is asking ----------------------------------------------------------------------------

    def login_of(self, handler: RequestHandler) -> ActiveLogin | None:
        """The open login of a request's cookie, or ``None``."""
        token = handler.get_signed_cookie(LOGIN_COOKIE, max_age_days=self.project.settings.login_hours / 24 + 1)
        if not token:
            return None
        try:
            return self.project.login(token.decode("ascii"))
        except UnicodeDecodeError:
            return None

    def user_of(self, handler: RequestHandler) -> str | None:
        """Bokeh's ``get_user``: the user of an open login; for a websocket, only the login its page was made
        for. The login is kept on the request, for the page being made."""
        login = self.login_of(handler)
        if login is None:
            return None
        if isinstance(handler, WebSocketHandler):
            page = self._page_of(handler)
            if page is not None and self._pages.get(page, login.pk) != login.pk:
                log.warning("refused a websocket of %s's login to a page made for another login", login.user_name)
                return None
        handler.request.xid_login = login
        return login.user_name

    @staticmethod
    def _page_of(handler: WebSocketHandler) -> tuple[str, str] | None:
        """(app path, session id) of the page a websocket asks for."""
        protocols = [p.strip() for p in handler.request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        try:
            session_id = get_session_id(protocols[1]) if len(protocols) == 2 else None
        except Exception:  # not a token at all: Bokeh refuses it itself
            return None
        return (app_path(handler.request.path), session_id) if session_id else None

    def bind_page(self, path: str, session_id: str, login: ActiveLogin) -> None:
        """Only ``login`` may open the websocket of the page ``session_id`` of the app at ``path``."""
        self._pages[(app_path(path), session_id)] = login.pk

    def unbind_page(self, path: str, session_id: str, login: ActiveLogin) -> None:
        if self._pages.get((app_path(path), session_id)) == login.pk:  # not another app's page of that id
            del self._pages[(app_path(path), session_id)]

    def logout_token(self, login: ActiveLogin) -> str:
        """The token a logout form must carry: another site cannot know it, so it cannot log anyone out."""
        return hmac.new(self.secret.encode(), b"logout:" + login.token_sha256.encode(), hashlib.sha256).hexdigest()

    def cookie_path(self) -> str:
        return self.prefix + "/" if self.prefix else "/"


def app_path(path: str) -> str:
    """The app a page's or its websocket's path belongs to: "" for the annotation page, "/admin" for the
    admin page (under the prefix, if any)."""
    return path.rstrip("/").removesuffix("/ws").rstrip("/")


def _safe_next(target: str, prefix: str) -> str:
    """Where to go after logging in: a path on this server, never another site."""
    home = (prefix or "") + "/"
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or not re.fullmatch(r"[\x21-\x7e]*", target):
        return home
    return target


class _Page(RequestHandler):
    logins: Logins

    def _cookie(self, name: str, value: str, *, days: float) -> None:
        self.set_signed_cookie(name, value, expires_days=days, httponly=True, samesite="Lax",
                               secure=self.request.protocol == "https", path=self.logins.cookie_path())

    def _render(self, template: str, status: int = 200, **values) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")  # no clickjacking of the forms
        self.write(_templates.get_template(template).render(**values))

    def check_xsrf_cookie(self) -> None:
        try:
            super().check_xsrf_cookie()
        except HTTPError:
            raise HTTPError(403, "the form has expired or was sent from another site: reload the page") from None


class LoginPage(_Page):
    """``GET``: the form; ``POST``: check the password (throttled, off the event loop) and open a login."""

    def prepare(self) -> None:
        # Tornado's XSRF cookie for the form, kept to this site
        self.application.settings.setdefault("xsrf_cookie_kwargs", {"httponly": True, "samesite": "Lax"})

    def get(self) -> None:
        self._form()

    def _form(self, error: str = "", status: int = 200, name: str = "") -> None:
        self._render("login.html", status, error=error, name=name,
                     next=_safe_next(self.get_argument("next", ""), self.logins.prefix),
                     xsrf=Markup(self.xsrf_form_html()))

    async def post(self) -> None:
        self.check_xsrf_cookie()
        # cut to one past the longest allowed: still refused, but never megabytes hashed or looked up
        name = self.get_body_argument("username", "").strip()[:USER_NAME + 1]
        password = self.get_body_argument("password", "")[:MAX_PASSWORD_LENGTH + 1]
        logins = self.logins
        device = self.get_cookie(DEVICE_COOKIE, "")
        trusted = bool(device) and self.get_signed_cookie(DEVICE_COOKIE, device, max_age_days=DEVICE_DAYS) \
            == name.encode("utf-8", "replace")
        # counted before the check, so that concurrent guesses cannot slip past; forgiven if it succeeds
        counted = dict(device=device) if trusted else dict(client=self.request.remote_ip or "",
                                                            account=name.casefold())
        wait = logins.throttle.take(**counted)
        if wait:
            self.set_header("Retry-After", str(int(wait)))
            return self._form(f"Too many login attempts: try again in {int(wait)} s.", 429, name)
        if logins.waiting_checks >= MAX_WAITING_CHECKS:  # not checked, so not held against anyone
            logins.throttle.forgive(**counted)
            self.set_header("Retry-After", "2")
            return self._form("The server is busy checking logins: try again in a moment.", 503, name)
        logins.waiting_checks += 1
        try:
            ok = await IOLoop.current().run_in_executor(_password_checks, logins.project.check_password,
                                                        name, password)
        finally:
            logins.waiting_checks -= 1
        if not ok:
            return self._form("Wrong user name or password.", 401, name)
        logins.throttle.forgive(**counted)
        token = logins.project.start_login(name)
        self._cookie(LOGIN_COOKIE, token, days=logins.project.settings.login_hours / 24)
        self._cookie(DEVICE_COOKIE, name, days=DEVICE_DAYS)
        self.redirect(_safe_next(self.get_body_argument("next", ""), logins.prefix))


class LogoutPage(_Page):
    """``GET``: a button to log out; ``POST`` (with the login's logout token): end the login everywhere."""

    def get(self) -> None:
        login = self.logins.login_of(self)
        self._render("logout.html", done=login is None, token=self.logins.logout_token(login) if login else "")

    def post(self) -> None:
        login = self.logins.login_of(self)
        if login is not None:
            sent = self.get_body_argument("logout_token", "")
            if not hmac.compare_digest(sent, self.logins.logout_token(login)):
                raise HTTPError(403, "this logout was not sent by XID's own page")
            token = self.get_signed_cookie(LOGIN_COOKIE).decode("ascii")
            self.logins.project.end_login(token)
        self.clear_cookie(LOGIN_COOKIE, path=self.logins.cookie_path())
        self._render("logout.html", done=True, token="")


class ClosedRoute(RequestHandler):
    """Panel's ``/components/`` route imports any installed module a URL names: XID's pages do not use it."""

    def get(self, *_) -> None:
        raise HTTPError(404)
