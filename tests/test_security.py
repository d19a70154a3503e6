"""Security of `xid serve`: production mode refuses unsafe settings, session ids are signed, websocket
origins are checked. (Logins, roles and the admin page are in test_browser.py.)"""

import re
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from tests.browser import served
from xid_app.cli import main
from xid_app.config import Settings

GOOD_SECRET = "k3J9-qW2xZ7pL0vB5nM8sD4fG6hJ1aQ0eR3tY"


@pytest.mark.parametrize("secret, login, expected", [
    (None, True, ["XID_COOKIE_SECRET is not set"]),
    ("short", True, ["shorter than 32 characters"]),
    ("change-me-to-a-long-random-string", True, ["left at an example value"]),
    ("a" * 40, True, ["left at an example value"]),
    (GOOD_SECRET, False, ["no user has a password"]),
    (GOOD_SECRET, True, []),
])
def test_security_problems(secret, login, expected):
    problems = Settings(cookie_secret=secret).security_problems(login_required=login)
    assert len(problems) == len(expected) and all(e in p for e, p in zip(expected, problems))


def test_production_mode_refuses_to_serve_unsafely(project, monkeypatch):
    monkeypatch.setenv("XID_PRODUCTION", "true")
    monkeypatch.delenv("XID_COOKIE_SECRET", raising=False)
    result = CliRunner().invoke(main, ["serve", "--db", project.url])
    assert result.exit_code == 1
    assert "production mode refuses to serve" in result.output and "XID_COOKIE_SECRET is not set" in result.output
    assert "no user has a password" in result.output


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    from xid_app.demo import DEMO_SOURCES
    from xid_app.project import Project

    data_dir = tmp_path_factory.mktemp("security")
    url_db = f"sqlite:///{data_dir / 'x.sqlite'}"
    project = Project(url_db, settings=Settings(data_dir=data_dir))
    project.init()
    project.ingest(DEMO_SOURCES)
    with served([], data_dir, env={"XID_DATABASE_URL": url_db}) as url:
        yield url


def test_session_ids_are_signed(open_server):
    page = urllib.request.urlopen(open_server + "/", timeout=30).read().decode()
    assert re.search(r'"token":\s*"[A-Za-z0-9_.-]+"', page)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(open_server + "/?bokeh-session-id=made-up-by-the-client", timeout=30)
    assert refused.value.code == 403


def test_websockets_from_other_origins_are_refused(open_server):
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    page = urllib.request.urlopen(open_server + "/", timeout=30).read().decode()
    token = re.search(r'"token":\s*"([A-Za-z0-9_.-]+)"', page).group(1)
    ws_url = open_server.replace("http", "ws") + "/ws"

    async def connect(origin):
        request = HTTPRequest(ws_url, headers={"Origin": origin})
        try:
            socket = await websocket_connect(request, subprotocols=["bokeh", token])
        except HTTPClientError as exc:
            return exc.code
        socket.close()
        return 101

    assert IOLoop.current().run_sync(lambda: connect("http://evil.example.org")) == 403
    assert IOLoop.current().run_sync(lambda: connect(open_server)) == 101
