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
import re
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import served  # noqa: E402
from tests.page_client import liveness_times  # noqa: E402

CLIENTS = 8


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
    times = await liveness_times(url, seconds)
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
        env = {"XID_DATABASE_URL": db_url, "XID_BEHIND_PROXY": "true",
               "XID_COOKIE_SECRET": uuid.uuid4().hex + uuid.uuid4().hex}
        with served([], data_dir, env=env) as url:
            idle = asyncio.run(liveness_times(url, seconds))
            for spread, label in ((False, "one guesser, throttled"), (True, "new address and name each time")):
                flooded, counts = asyncio.run(_flood(url, seconds, spread))
                p50, base = float(np.median(flooded)) * 1e3, float(np.median(idle)) * 1e3
                rows.append(dict(
                    name=f"/liveness p50 under {CLIENTS} login guessers ({label})", value=p50, unit="ms",
                    baseline=base, ratio=p50 / base,
                    goal=f"<= 20x idle; p99 {np.percentile(flooded, 99) * 1e3:.1f} ms; responses {dict(sorted(counts.items()))}"))
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
