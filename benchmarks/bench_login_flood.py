"""A login flood against a served XID: does the server stay responsive while it is being guessed at?

8 clients post wrong passwords to /login as fast as the server answers, with no login of their own. The
figure is /liveness's p50 latency during the flood, as a ratio to /liveness idle in the same run (goal
<= 20x). Two floods: as a guesser meets it (one address, one account: the throttle refuses after a few
attempts, unchecked), and the worst case for the server (every request from a new address and for a new
name, as through a botnet or a proxy that forwards whatever it is told: every attempt is checked with
argon2, so the checks run continuously, off the event loop, a bounded queue of them at a time).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np

CLIENTS = 8


def _serve(db_url: str, data_dir: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XID_DATABASE_URL": db_url, "XID_DATA_DIR": str(data_dir), "XID_BEHIND_PROXY": "true",
           "XID_COOKIE_SECRET": uuid.uuid4().hex + uuid.uuid4().hex}
    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "xid_app.cli", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/liveness", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("xid serve did not start")


async def _liveness(url: str, seconds: float) -> list[float]:
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True)
    times, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        await client.fetch(url + "/liveness", request_timeout=60)
        times.append(time.perf_counter() - t)
        await asyncio.sleep(0.02)
    return times


async def _guesser(url: str, stop: asyncio.Event, spread: bool, counts: dict) -> None:
    """Post wrong passwords until told to stop; ``spread``: a new address and name every time."""
    from urllib.parse import urlencode

    from tornado.httpclient import AsyncHTTPClient, HTTPRequest

    client = AsyncHTTPClient(force_instance=True)
    address = f"10.9.{np.random.randint(255)}.{np.random.randint(255)}"
    form = (await client.fetch(url + "/login", headers={"X-Forwarded-For": address})).body.decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
    cookie = f"_xsrf={xsrf}"
    while not stop.is_set():
        if spread:
            address = f"10.{np.random.randint(255)}.{np.random.randint(255)}.{np.random.randint(255)}"
        name = uuid.uuid4().hex[:12] if spread else "alice"
        body = urlencode({"username": name, "password": "wrong-" + uuid.uuid4().hex, "_xsrf": xsrf})
        response = await client.fetch(HTTPRequest(url + "/login", method="POST", body=body, follow_redirects=False,
                                                  headers={"Cookie": cookie, "X-Forwarded-For": address},
                                                  request_timeout=60), raise_error=False)
        counts[response.code] = counts.get(response.code, 0) + 1


async def _flood(url: str, seconds: float, spread: bool) -> tuple[list[float], dict]:
    stop, counts = asyncio.Event(), {}
    guessers = [asyncio.ensure_future(_guesser(url, stop, spread, counts)) for _ in range(CLIENTS)]
    await asyncio.sleep(1.0)  # the flood is under way
    times = await _liveness(url, seconds)
    stop.set()
    await asyncio.gather(*guessers)
    return times, counts


def run(quick: bool = False) -> list[dict]:
    from xid_app.config import Settings
    from xid_app.demo import prepare_demo

    seconds = 4.0 if quick else 15.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        db_url = f"sqlite:///{data_dir / 'flood.sqlite'}"
        prepare_demo(Settings(data_dir=data_dir), url=db_url)
        proc, url = _serve(db_url, data_dir)
        try:
            idle = asyncio.run(_liveness(url, seconds))
            for spread, label in ((False, "one guesser, throttled"), (True, "new address and name each time")):
                flooded, counts = asyncio.run(_flood(url, seconds, spread))
                p50, base = float(np.median(flooded)) * 1e3, float(np.median(idle)) * 1e3
                rows.append(dict(
                    name=f"/liveness p50 under {CLIENTS} login guessers ({label})", value=p50, unit="ms",
                    baseline=base, ratio=p50 / base,
                    goal=f"<= 20x idle; p99 {np.percentile(flooded, 99) * 1e3:.1f} ms; responses {dict(sorted(counts.items()))}"))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
