"""Load and faults: many annotators on one real `xid serve`, the server killed with SIGKILL half-way.

Each simulated annotator is a browser-less websocket client (``bokeh.client``) that loads the page as a
browser does (GET /, then the websocket with the page's signed token), enters a name, and answers
sources through the page's own widgets and events: clicks on the image (Tap), Next, with 10% of Nexts
sent twice (a double click) and 5% hostile input (NaN, 1e309, out-of-field clicks, HTML typed as an ID).
Like the page's JavaScript, a client names each answer itself. An answer is acknowledged when the page
moves on. Half-way the server is killed with SIGKILL and restarted; clients reconnect and retry the answer
they had in flight under the same id.

Checks: every acknowledged answer stored exactly once, none doubled, no hostile value stored. Figures:
p50/p99 acknowledgement latency (baseline: a page round trip with no answer), server memory per session.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tornado.websocket import WebSocketClosedError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.page_client import document_models  # noqa: E402
from xid_app.ui.controls import TYPED_ID_PLACEHOLDER  # noqa: E402

HOSTILE_CLICKS = [(float("nan"), 10.0), (1e309, 5.0), (-1e6, 3.0), (10.0, float("inf"))]
HOSTILE_ID = '<img src=x onerror="alert(1)">'


@dataclass
class Tally:
    acked: list = field(default_factory=list)         # (user, answer_id, source_id)
    latencies: list = field(default_factory=list)     # s, Next → page moved on
    round_trips: list = field(default_factory=list)   # s, a request with no answer
    duplicates_sent: int = 0
    hostile_sent: int = 0
    reconnects: int = 0
    in_flight_at_kill: list = field(default_factory=list)


class Server:
    """`xid serve` in a subprocess that can be killed and restarted on the same port."""

    def __init__(self, db_url: str, data_dir: Path):
        self.db_url, self.data_dir = db_url, data_dir
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "XID_DATABASE_URL": self.db_url, "XID_DATA_DIR": str(self.data_dir),
               "XID_COOKIE_SECRET": "load-test-" + uuid.uuid4().hex + uuid.uuid4().hex}
        log = open(self.data_dir / f"server-{time.time():.0f}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "xid_app.cli", "serve", "--port", str(self.port)],
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/liveness", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("xid serve did not start") from None
                time.sleep(0.2)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def _number(value: float):
    """A float as Bokeh's wire format writes it (NaN and infinities are tagged)."""
    if math.isnan(value):
        return {"type": "number", "value": "nan"}
    if math.isinf(value):
        return {"type": "number", "value": "+inf" if value > 0 else "-inf"}
    return value


def _event(name: str, model_id: str, **values) -> dict:
    entries = [["model", {"id": model_id}]] + [[k, v] for k, v in values.items()]
    return {"kind": "MessageSent", "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": name, "values": {"type": "map", "entries": entries}}}


class Annotator:
    """One simulated annotator: a websocket client speaking Bokeh's protocol to the page, as the browser
    does: it loads the page, pulls its document, and sends the page's own events (button clicks, taps on
    the image, widget values). It reads only what it needs from the server's patches (and tolerates
    frames of Panel's patches and Bokeh's replies arriving interleaved)."""

    def __init__(self, name: str, server: Server, tally: Tally, seed: int):
        self.name, self.server, self.tally = name, server, tally
        self.rng = random.Random(seed)
        self.pending: tuple[str, str, tuple[float, float]] | None = None  # (answer_id, source, click)
        self.socket = None
        self.changed = asyncio.Event()

    async def connect(self) -> None:
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        page = (await AsyncHTTPClient().fetch(self.server.url + "/", request_timeout=30)).body.decode()
        token = re.search(r'"token":\s*"([^"]+)"', page).group(1)
        request = HTTPRequest(self.server.url.replace("http", "ws") + "/ws", headers={"Origin": self.server.url})
        self.socket = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=1 << 26)
        self.writing = asyncio.Lock()
        self.models: dict = {}
        self.state = {"shown": "", "title": "", "answer_id": "", "message": ""}
        self.patches = 0  # patches the server sent (not its replies to ours)
        self._reader = asyncio.ensure_future(self._read())
        await self.send_message("PULL-DOC-REQ", {})
        if not await self.wait(lambda: bool(self.models), 60):
            self.socket.close()
            raise ConnectionError("the page's document did not arrive")
        by_label = {a.get("label"): i for i, (t, a) in self.models.items() if "label" in a}
        by_placeholder = {a.get("placeholder"): i for i, (t, a) in self.models.items() if "placeholder" in a}
        self.buttons = by_label
        self.name_box = by_placeholder["who is annotating?"]
        self.id_box = by_placeholder[TYPED_ID_PLACEHOLDER]
        self.figure = next(i for i, (t, a) in self.models.items() if a.get("name") == "xid-view")
        keys = next(a for t, a in self.models.values() if a.get("class_name") == "KeyShortcuts")
        self.answer = keys["data"]["id"]  # the page's answer naming (see xid_app.ui.keys)
        self.title = next(i for i, (t, a) in self.models.items() if "xid-title" in (a.get("css_classes") or []))
        self.message = next(i for i, (t, a) in self.models.items() if "xid-message" in (a.get("css_classes") or []))
        # as BokehJS does once the page is rendered: Panel then sends changes at once, in the action's patch
        await self.send_message("PATCH-DOC", {"events": [{
            "kind": "MessageSent", "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}}}]})
        await self.set(self.name_box, "value", self.name)
        await self.press("Start")
        if not await self.wait(lambda: self.state["shown"] != "" and self.state["answer_id"] != "", 30):
            raise ConnectionError("no source shown")

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.socket.read_message()
            except Exception:  # the server went away
                frame = None
            if frame is None:
                self.changed.set()
                return
            if isinstance(frame, bytes) or not frame.startswith("{\""):
                continue
            if frame.startswith('{"doc"'):
                document_models(json.loads(frame)["doc"], self.models)
            elif frame.startswith('{"events"'):
                self.patches += 1
                shown = self.state["shown"]
                for event in json.loads(frame)["events"]:  # the whole patch first: no await in between
                    if event.get("kind") != "ModelChanged":
                        continue
                    model, attr = event["model"]["id"], event["attr"]
                    if model == getattr(self, "title", None) and attr == "text":
                        self.state["title"] = event["new"]
                    elif model == getattr(self, "message", None) and attr == "text":
                        self.state["message"] = event["new"]
                    elif model == getattr(self, "answer", None) and attr == "shown":
                        self.state["shown"] = event["new"]
                if self.state["shown"] != shown:  # a new answer begins
                    try:
                        await self.begin(self.state["shown"])
                    except WebSocketClosedError:  # closed meanwhile (by the server, or by us when done)
                        self.changed.set()
                        return
            self.changed.set()

    async def begin(self, shown: str) -> None:
        """What the page's JavaScript does when the page signals a new answer (``shown``): name it."""
        if shown:
            self.state["answer_id"] = uuid.uuid4().hex
            await self.set(self.answer, "answer_for", shown)
            await self.set(self.answer, "answer_id", self.state["answer_id"])

    @property
    def connected(self) -> bool:
        return self.socket is not None and self.socket.protocol is not None and not self._reader.done()

    async def send_message(self, msgtype: str, content: dict) -> None:
        header = {"msgid": uuid.uuid4().hex, "msgtype": msgtype}
        async with self.writing:  # a message's three frames must not interleave with another's
            for part in (header, {}, content):
                await self.socket.write_message(json.dumps(part))

    async def patch(self, *events) -> None:
        await self.send_message("PATCH-DOC", {"events": list(events)})

    async def set(self, model: str, attr: str, value) -> None:
        await self.patch({"kind": "ModelChanged", "model": {"id": model}, "attr": attr, "new": value})

    async def press(self, label: str) -> None:
        await self.patch(_event("button_click", self.buttons[label]))

    async def tap(self, x: float, y: float) -> None:
        modifiers = {"type": "map", "entries": [["shift", False], ["ctrl", False], ["alt", False]]}
        await self.patch(_event("tap", self.figure, x=_number(x), y=_number(y), sx=0, sy=0, modifiers=modifiers))

    async def wait(self, predicate, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate() and self.connected and time.monotonic() < deadline:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=max(deadline - time.monotonic(), 0.01))
            except asyncio.TimeoutError:
                break
        return bool(predicate())

    def source(self) -> str:
        return re.sub(r"<[^>]+>", "", html.unescape(self.state["title"])).strip()

    # --- work -------------------------------------------------------------------------------------

    async def answer_one(self) -> bool:
        """Answer the source on screen; True once it is done with (acknowledged, or hostile and skipped)."""
        shown, source = self.state["shown"], self.source()
        side = 121  # a 180" field at LoTSS's 1.5"/px
        roll = self.rng.random()
        if roll < 0.05:  # hostile: nothing of it may be stored
            self.tally.hostile_sent += 1
            if self.rng.random() < 0.5:
                await self.tap(*self.rng.choice(HOSTILE_CLICKS))
            else:
                await self.set(self.id_box, "value", HOSTILE_ID)
                await self.press("GO")
            await self.press("Skip")
            return await self.wait(lambda: self.state["shown"] != shown and self.source() != source)
        if self.pending is not None and self.pending[1] == source:  # retry the answer in flight, same id
            answer_id, _, click = self.pending
            await self.set(self.answer, "answer_for", shown)  # the same answer, for what is on screen now
            await self.set(self.answer, "answer_id", answer_id)
        else:
            answer_id, click = self.state["answer_id"], (self.rng.uniform(0, side - 1), self.rng.uniform(0, side - 1))
        self.pending = (answer_id, source, click)
        await self.tap(*click)
        t = time.monotonic()
        await self.press("Next ▶")
        if roll < 0.15:  # a double click: the same answer sent twice
            await self.press("Next ▶")
            self.tally.duplicates_sent += 1
        saved = f"Saved your answer for {source}."  # the page's own confirmation, naming the source
        if await self.wait(lambda: saved in self.state["message"] and self.source() != source) and self.connected:
            self.tally.acked.append((self.name, answer_id, source))
            self.tally.latencies.append(time.monotonic() - t)
            self.pending = None
            return True
        return False

    async def round_trip(self) -> None:
        """The baseline: a page action that only moves the view (Zoom in), until its patch arrives."""
        before = self.patches
        t = time.monotonic()
        await self.press("Zoom in")
        if await self.wait(lambda: self.patches > before, 10):
            self.tally.round_trips.append(time.monotonic() - t)

    def finished(self) -> bool:
        """Whether the page says every source is done for this annotator."""
        return "All sources done" in getattr(self, "state", {}).get("title", "")

    async def run(self, answers: int) -> None:
        given = 0
        while given < answers and not self.finished():
            try:
                if not self.connected:
                    if self.socket is not None:
                        self.tally.reconnects += 1
                    await self.connect()
                if await self.answer_one():
                    given += 1
                    if given % 10 == 0:
                        await self.round_trip()
            except Exception:  # the server went away mid-step: reconnect and go on
                self.socket = None
                await asyncio.sleep(0.5)
        self.socket.close()


def make_project(db_url: str, data_dir: Path, n_sources: int, shared_data: Path):
    """Sources on the real LoTSS tile (positions spread over it), cut from the mosaic."""
    from xid_app.config import Settings
    from xid_app.coords import pixel_to_sky
    from xid_app.ingest import MosaicSurvey
    from xid_app.mosaics import read_tile
    from xid_app.project import Project

    tile_path = shared_data / "lotss_dr1/P205+55-mosaic.fits"
    tile = read_tile(tile_path)
    rng = np.random.default_rng(0)
    ra, dec = pixel_to_sky(tile.wcs, rng.uniform(70, 330, n_sources), rng.uniform(70, 330, n_sources))
    table = data_dir / "load_sources.csv"
    table.write_text("source_id,ra,dec\n" + "".join(f"LOAD{i:04d},{r:.6f},{d:.6f}\n"
                                                     for i, (r, d) in enumerate(zip(ra, dec))))
    project = Project(db_url, settings=Settings(data_dir=data_dir))
    project.init()
    project.ingest(table, mosaics=[MosaicSurvey("radio", "LoTSS 144 MHz", str(tile_path))])
    return project


def run_load(db_url: str, data_dir: Path, shared_data: Path, *, clients: int, answers: int,
             kill: bool = True) -> dict:
    """Run the load; returns the figures and the checks' counts."""
    import sqlalchemy as sa

    from xid_app.coords import valid_sky_position
    from xid_app.store.models import Classification, HostMark, User

    project = make_project(db_url, data_dir, answers + 50, shared_data)  # room for answers whose ack timed out
    server = Server(db_url, data_dir)
    server.start()
    tally = Tally()
    annotators = [Annotator(f"load-{i:03d}", server, tally, seed=i) for i in range(clients)]
    rss_before = server.rss_mb()
    killed, rss_connected = False, float("nan")

    async def main() -> None:
        nonlocal killed, rss_connected
        work = [asyncio.ensure_future(a.run(answers)) for a in annotators]
        while not all(w.done() for w in work):
            if rss_connected != rss_connected and sum(a.connected for a in annotators) == clients:
                rss_connected = server.rss_mb()
            if kill and not killed and len(tally.acked) >= clients * answers // 2:
                server.kill()
                killed = True
                await asyncio.sleep(1.0)  # clients see the dead server
                await asyncio.get_running_loop().run_in_executor(None, server.start)
            await asyncio.sleep(0.1)
        for w in work:
            w.result()

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started
    server.stop()

    with project.engine.connect() as conn:
        stored = conn.execute(sa.select(Classification.submission_id, User.name, Classification.source_pk)
                              .join(User, User.id == Classification.user_pk)
                              .where(User.name.like("load-%"))).all()
        marks = conn.execute(sa.select(HostMark.ra, HostMark.dec)).all()
    by_id: dict[str, int] = {}
    for submission_id, _, _ in stored:
        by_id[submission_id] = by_id.get(submission_id, 0) + 1
    per_pair: dict[tuple, int] = {}
    for _, user, source in stored:
        per_pair[(user, source)] = per_pair.get((user, source), 0) + 1
    lost = sum(1 for _, answer_id, _ in tally.acked if by_id.get(answer_id, 0) == 0)
    doubled = sum(n - 1 for n in by_id.values() if n > 1) + sum(n - 1 for n in per_pair.values() if n > 1)
    hostile_stored = sum(1 for r, d in marks if not valid_sky_position(r, d))
    project.engine.dispose()
    lat = np.asarray(tally.latencies) * 1e3
    rt = np.asarray(tally.round_trips) * 1e3
    return dict(clients=clients, answers_each=answers, acknowledged=len(tally.acked), stored=len(stored),
                lost=lost, doubled=doubled, hostile_sent=tally.hostile_sent, hostile_stored=hostile_stored,
                duplicates_sent=tally.duplicates_sent, reconnects=tally.reconnects, killed=killed,
                p50_ms=float(np.percentile(lat, 50)), p99_ms=float(np.percentile(lat, 99)),
                round_trip_p50_ms=float(np.percentile(rt, 50)) if len(rt) else float("nan"),
                mb_per_session=(rss_connected - rss_before) / clients,
                answers_per_s=len(tally.acked) / elapsed)


POSTGRES = os.environ.get("XID_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_postgres():
    """A new, empty PostgreSQL database on the local server (dropped afterwards), or None if none answers."""
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"xid_load_{uuid.uuid4().hex[:10]}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        yield None
        return
    try:
        yield sa.engine.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(quick: bool = False) -> list[dict]:
    shared = Path(os.environ.get("XID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data"))
    clients, answers = (10, 20) if quick else (50, 200)
    rows = []
    for label in ("SQLite", "PostgreSQL"):
        with tempfile.TemporaryDirectory() as tmp, fresh_postgres() as pg:
            if label == "PostgreSQL" and pg is None:
                print("  PostgreSQL: no server answers, skipped", flush=True)
                continue
            db_url = pg if label == "PostgreSQL" else f"sqlite:///{Path(tmp) / 'load.sqlite'}"
            r = run_load(db_url, Path(tmp), shared, clients=clients, answers=answers)
        print(f"  {label}: {r}", flush=True)
        rows.append(dict(name=f"{label}: ack latency p50, {clients} annotators × {answers}, SIGKILL half-way",
                         value=r["p50_ms"], unit="ms", baseline=r["round_trip_p50_ms"],
                         ratio=r["p50_ms"] / r["round_trip_p50_ms"],
                         goal=f"lost {r['lost']}, doubled {r['doubled']}, hostile stored {r['hostile_stored']}; "
                              f"p99 {r['p99_ms']:.0f} ms; {r['answers_per_s']:.1f} answers/s; "
                              f"{r['mb_per_session']:.1f} MB/session; baseline: a zoom's round trip"))
    return rows
