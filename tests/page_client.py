"""A browser-less client of XID's pages, for attacking a served XID as a script would: HTTP with cookies
(the login form and its XSRF token), the page's HTML and session token, and the page's websocket speaking
Bokeh's protocol (pull the document, send widget values and events, read the server's patches)."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import uuid
from http.cookies import SimpleCookie

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect


def document_models(node, found: dict) -> None:
    """Every model of a pulled document: id → (type name, attributes)."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node:
            found[node["id"]] = (node.get("name", ""), node.get("attributes", {}))
        for value in node.values():
            document_models(value, found)
    elif isinstance(node, list):
        for value in node:
            document_models(value, found)


def token_payload(token: str) -> dict:
    """The readable payload of a Bokeh session token (what anyone holding the page's HTML can read)."""
    body = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


async def liveness_times(url: str, seconds: float, pause_s: float = 0.02) -> list[float]:
    """Round trips of ``/liveness`` (s), one after another for ``seconds``: how responsive the server is."""
    import time

    client = AsyncHTTPClient(force_instance=True)
    times, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        await client.fetch(url + "/liveness", request_timeout=60)
        times.append(time.perf_counter() - started)
        await asyncio.sleep(pause_s)
    return times


async def open_mode_page(url: str, name: str) -> Page:
    """A page of an XID in open mode, signed in under ``name`` and showing its first source."""
    page = await Browser(url).page("/")
    await page.connect()
    await page.set(page.by_placeholder("who is annotating?"), "value", name)
    title = page.text("xid-title")
    await page.press("Start")
    await page.wait(lambda: page.text("xid-title") != title, 120)
    return page


class Browser:
    """Cookies and HTTP, as a browser keeps them for one site."""

    def __init__(self, base_url: str, *, forwarded_for: str | None = None):
        self.base_url, self.cookies = base_url.rstrip("/"), {}
        self.forwarded_for = forwarded_for
        self.http = AsyncHTTPClient(force_instance=True)

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def fetch(self, path: str, *, method: str = "GET", form: dict | None = None, headers: dict | None = None):
        """(status, body, response headers); cookies set by the response are kept; redirects not followed."""
        from urllib.parse import urlencode

        all_headers = {"Cookie": self.cookie_header(), **(headers or {})}
        if self.forwarded_for:
            all_headers["X-Forwarded-For"] = self.forwarded_for
        body = urlencode(form) if form is not None else None
        request = HTTPRequest(self.base_url + path, method=method, body=body, headers=all_headers,
                              follow_redirects=False, request_timeout=60)
        try:
            response = await self.http.fetch(request, raise_error=False)
        except HTTPClientError as exc:  # pragma: no cover - raise_error=False returns instead
            response = exc.response
        for header in response.headers.get_list("Set-Cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel.value and "expires=thu, 01 jan 1970" not in header.lower():
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response.code, response.body.decode("utf-8", "replace"), response.headers

    async def log_in(self, name: str, password: str, *, with_xsrf: bool = True) -> int:
        """Fill in the login form as a browser does; the POST's status (302 when logged in)."""
        _, form, _ = await self.fetch("/login")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form)
        fields = {"username": name, "password": password, "next": "/"}
        if with_xsrf and xsrf:
            fields["_xsrf"] = xsrf.group(1)
        status, _, _ = await self.fetch("/login", method="POST", form=fields)
        return status

    async def log_out(self) -> int:
        """Press the logout page's button, as a user does; the POST's status (200 when logged out)."""
        _, form, _ = await self.fetch("/logout")
        token = re.search(r'name="logout_token" value="([0-9a-f]+)"', form)
        status, _, _ = await self.fetch("/logout", method="POST", form={"logout_token": token.group(1) if token else ""})
        return status

    async def page(self, path: str = "/") -> Page:
        """Load a page's HTML (status 200 expected) and return it, not yet connected."""
        status, html, _ = await self.fetch(path)
        if status != 200:
            raise PermissionError(f"GET {path}: {status}")
        token = re.search(r'"token":\s*"([^"]+)"', html)
        return Page(self, html, token.group(1) if token else "", path)


class Page:
    """One page's websocket, speaking Bokeh's protocol."""

    def __init__(self, browser: Browser, html: str, token: str, path: str = "/"):
        self.browser, self.html, self.token, self.path = browser, html, token, path
        self.models: dict = {}
        self.texts: dict[str, str] = {}  # model id → latest 'text' the server sent
        self.patches = 0  # patches the server has sent
        self.socket = None
        self.changed = asyncio.Event()

    async def connect(self, *, cookies: str | None = None) -> None:
        """Open the websocket (with the browser's cookies, or others), pull the document."""
        url = self.browser.base_url.replace("http", "ws", 1) + self.path.rstrip("/") + "/ws"  # as the page's own JS
        headers = {"Origin": self.browser.base_url,
                   "Cookie": self.browser.cookie_header() if cookies is None else cookies}
        self.socket = await websocket_connect(HTTPRequest(url, headers=headers), subprotocols=["bokeh", self.token],
                                              max_message_size=1 << 26)
        self.acknowledged = False
        self._reader = asyncio.ensure_future(self._read())
        await self.wait(lambda: self.acknowledged)  # as BokehJS: nothing is sent before the server's ACK
        await self.send("PULL-DOC-REQ", {})
        await self.wait(lambda: bool(self.models))
        await self.send("PATCH-DOC", {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {
            "type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}}}]})

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.socket.read_message()
            except Exception:
                frame = None
            if frame is None:
                self.changed.set()
                return
            if isinstance(frame, str) and '"msgtype":"ACK"' in frame.replace(" ", ""):
                self.acknowledged = True
            elif isinstance(frame, str) and frame.startswith('{"doc"'):
                document_models(json.loads(frame)["doc"], self.models)
                for model_id, (_, attributes) in self.models.items():
                    if isinstance(attributes.get("text"), str):
                        self.texts[model_id] = attributes["text"]
            elif isinstance(frame, str) and frame.startswith('{"events"'):
                self.patches += 1
                for event in json.loads(frame)["events"]:
                    if event.get("kind") == "ModelChanged" and event.get("attr") == "text":
                        self.texts[event["model"]["id"]] = event["new"]
            self.changed.set()

    async def send(self, msgtype: str, content: dict) -> None:
        for part in ({"msgid": uuid.uuid4().hex, "msgtype": msgtype}, {}, content):
            await self.socket.write_message(json.dumps(part))

    async def set(self, model_id: str, attr: str, value) -> None:
        await self.send("PATCH-DOC", {"events": [
            {"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": value}]})

    async def event(self, name: str, model_id: str, **values) -> None:
        entries = [["model", {"id": model_id}]] + [[k, v] for k, v in values.items()]
        await self.send("PATCH-DOC", {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {
            "type": "event", "name": name, "values": {"type": "map", "entries": entries}}}]})

    async def press(self, label: str) -> None:
        await self.event("button_click", self.by_label(label))

    async def tap(self, x: float, y: float) -> None:
        modifiers = {"type": "map", "entries": [["shift", False], ["ctrl", False], ["alt", False]]}
        await self.event("tap", self.by_name("xid-view"), x=x, y=y, sx=0, sy=0, modifiers=modifiers)

    def by_label(self, label: str) -> str:
        return next(i for i, (_, a) in self.models.items() if a.get("label") == label)

    def find(self, **attributes) -> str:
        """The first model whose attributes have these values."""
        return next(i for i, (_, a) in self.models.items() if all(a.get(k) == v for k, v in attributes.items()))

    def by_placeholder(self, placeholder: str) -> str:
        return next(i for i, (_, a) in self.models.items() if a.get("placeholder") == placeholder)

    def by_name(self, name: str) -> str:
        return next(i for i, (_, a) in self.models.items() if a.get("name") == name)

    def by_class(self, css_class: str) -> str:
        return next(i for i, (_, a) in self.models.items() if css_class in (a.get("css_classes") or []))

    def keys(self) -> tuple[str, dict]:
        """The keyboard component's data model (answer naming: shown, answer_id, answer_for): id, attributes
        as pulled."""
        data = next(a["data"] for _, a in self.models.values() if a.get("class_name") == "KeyShortcuts")
        return data["id"], self.models[data["id"]][1]

    def text(self, css_class: str) -> str:
        """The latest text of the pane with ``css_class``, tags removed."""
        return html.unescape(re.sub(r"<[^>]+>", "", html.unescape(self.texts.get(self.by_class(css_class), ""))))

    async def wait(self, predicate, timeout: float = 30.0) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate() and loop.time() < deadline and not self._reader.done():
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=max(deadline - loop.time(), 0.01))
            except asyncio.TimeoutError:
                break
        return bool(predicate())

    @property
    def closed(self) -> bool:
        return self._reader.done()

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
