"""A local stand-in for SkyView and CDS hips2fits, serving fields cut from a real WISE W1 image: archive
code is tested against it, never the network. ``mode`` switches it to the failures archives show."""

from __future__ import annotations

import io
import threading
import time
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

from xid_app.demo import DEMO_DIR

IMAGE = DEMO_DIR / "first_wise/WISE_W1_J151227.2+454026.fits"
FORM = """<html><body><form action="runquery.pl" method="get">
<input type="text" name="Position" value=""><input type="text" name="pixels" value="300">
<select name="survey" id="infraredsurveys"><option>WISE 3.4</option><option>WISE 4.6</option></select>
<select name="survey" id="opticaldss"><option selected>DSS</option></select>
<input type="submit" value="Submit"></form></body></html>"""


class StandIn:
    def __init__(self):
        self.mode = "ok"  # ok | slow | error-json | error-html | html-200 | no-image
        self.requests: list[tuple[float, str, dict]] = []  # (time, path, query)
        with fits.open(IMAGE) as hdul:
            self.data, self.wcs = hdul[0].data.astype(np.float32), WCS(hdul[0].header).celestial

    def field(self, ra: float, dec: float, fov_deg: float) -> bytes:
        scale = abs(self.wcs.proj_plane_pixel_scales()[0].to_value("deg"))
        side = max(int(round(fov_deg / scale)), 4)
        piece = Cutout2D(self.data, SkyCoord(ra, dec, unit="deg"), (side, side), wcs=self.wcs, mode="partial",
                         fill_value=np.nan)
        out = io.BytesIO()
        fits.PrimaryHDU(piece.data, piece.wcs.to_header()).writeto(out)
        return out.getvalue()


def _handler(standin: StandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:  # the client gave up waiting (timeout tests)
                pass

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            standin.requests.append((time.monotonic(), url.path, query))
            if standin.mode == "slow":
                time.sleep(3)
            if standin.mode == "error-html":
                return self.reply(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            if url.path.endswith("/hips2fits"):
                if standin.mode == "error-json":
                    return self.reply(400, b'{"title": "Unknown HiPS", "description": "no such survey"}',
                                      "application/json")
                if standin.mode == "html-200":
                    return self.reply(200, b"<html>maintenance</html>", "text/html")
                return self.reply(200, standin.field(float(query["ra"]), float(query["dec"]), float(query["fov"])),
                                  "application/fits")
            if url.path.endswith("/basicform.pl"):
                return self.reply(200, FORM.encode(), "text/html")
            if url.path.endswith("/runquery.pl"):
                if standin.mode == "no-image":
                    return self.reply(200, b"<html><body>No data</body></html>", "text/html")
                ra, dec = (float(v) for v in query["Position"].replace(",", " ").split())
                fov = float(query["size"].split(",")[0])
                link = f"/skyview/tempspace/field.fits?ra={ra}&dec={dec}&fov={fov}"
                return self.reply(200, f'<html><body><a href="{link}">FITS</a></body></html>'.encode(), "text/html")
            if url.path.endswith("/field.fits"):
                return self.reply(200, standin.field(float(query["ra"]), float(query["dec"]), float(query["fov"])),
                                  "application/fits")
            return self.reply(404, b"not found", "text/plain")

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that hung up is part of the tests
        pass


@contextmanager
def archive_standin():
    """Serve the stand-in on a free local port; yield it with ``skyview_url`` and ``hips2fits_url``."""
    standin = StandIn()
    server = _QuietServer(("127.0.0.1", 0), _handler(standin))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    standin.skyview_url = f"{base}/skyview/basicform.pl"
    standin.hips2fits_url = f"{base}/hips2fits"
    try:
        yield standin
    finally:
        server.shutdown()
