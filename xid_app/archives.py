"""Image fields fetched from archives with astroquery (SkyView, CDS hips2fits), kept in an on-disk cache.

A field is named by archive, survey, position, size and pixel count; once fetched it is never fetched
again, so a batch that stopped half-way resumes where it stopped, and with ``offline`` only the cache is
used. Every failure — a timeout, an archive error, an answer that is not an image — raises
:class:`ArchiveError` naming the survey and the position.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits

from .cutouts import ImageError, read_image_header

SERVICES = ("skyview", "hips2fits")
SKYVIEW_URL = "https://skyview.gsfc.nasa.gov/current/cgi/basicform.pl"
HIPS2FITS_URL = "https://alasky.cds.unistra.fr/hips-image-services/hips2fits"


# SkyView look-ups wait here, so that one that never answers is given up after the timeout
_waiting = ThreadPoolExecutor(max_workers=4, thread_name_prefix="xid-skyview")


class ArchiveError(ImageError):
    """A field cannot be had from the archive (or, offline, from the cache)."""


@dataclass(frozen=True)
class FieldRequest:
    """One field to fetch: ``survey`` as ``SERVICE:NAME`` (e.g. ``skyview:WISE 3.4``,
    ``hips2fits:CDS/P/allWISE/W1``), centre in ICRS degrees, side in arcsec, pixels per side."""

    survey: str
    ra: float
    dec: float
    field_arcsec: float
    pixels: int

    def split(self) -> tuple[str, str]:
        service, _, name = self.survey.partition(":")
        if service not in SERVICES or not name.strip():
            raise ArchiveError(f"{self.survey!r}: give an archive survey as SERVICE:NAME, SERVICE one of "
                               f"{', '.join(SERVICES)} (e.g. 'hips2fits:CDS/P/allWISE/W1', 'skyview:WISE 3.4')")
        return service, name.strip()

    def describe(self) -> str:
        return f"{self.survey} at ({self.ra:.5f}, {self.dec:+.5f})"


@dataclass
class FetchReport:
    """What a batch did: fields fetched now, found in the cache, and failures with their reasons."""

    fetched: int = 0
    cached: int = 0
    failed: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_") or "survey"


class Archive:
    """Fetches fields into ``cache_dir``.

    Parameters
    ----------
    cache_dir : pathlib.Path
        Where fetched fields are kept, one folder per archive and survey.
    offline : bool
        Use only the cache; a field not in it raises :class:`ArchiveError`.
    timeout_s : float
        Longest wait for an archive's answer.
    skyview_url, hips2fits_url : str
        The services (a mirror, or a local stand-in in tests).
    """

    def __init__(self, cache_dir: str | Path, *, offline: bool = False, timeout_s: float = 30.0,
                 skyview_url: str = SKYVIEW_URL, hips2fits_url: str = HIPS2FITS_URL):
        self.cache_dir = Path(cache_dir)
        self.offline = offline
        self.timeout_s = timeout_s
        self.urls = {"skyview": skyview_url, "hips2fits": hips2fits_url}

    def path(self, request: FieldRequest) -> Path:
        """Where the field is cached (whether or not it is there yet)."""
        service, name = request.split()
        key = f"{request.ra:.6f}_{request.dec:+.6f}_{request.field_arcsec:.1f}as_{request.pixels}px"
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # slugs of different names may coincide
        return self.cache_dir / service / f"{_slug(name)}-{digest}" / f"{key}.fits"

    def fetch(self, request: FieldRequest) -> Path:
        """The cached field, fetched first if it is not in the cache."""
        path = self.path(request)
        if path.is_file():
            return path
        if self.offline:
            raise ArchiveError(f"{request.describe()}: not in the cache {path.parent} and XID is offline "
                               f"(fetch it with `xid fetch` where the archive can be reached)")
        service, name = request.split()
        try:
            hdul = (self._hips2fits if service == "hips2fits" else self._skyview)(name, request)
        except ArchiveError:
            raise
        except Exception as exc:  # requests and astroquery raise many kinds; all mean "no image from there"
            raise ArchiveError(f"{request.describe()}: {_reason(exc, self.timeout_s)}") from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        try:
            hdul.writeto(partial, overwrite=True)
            read_image_header(partial)  # never cache something that is not an image
        except ImageError as exc:
            partial.unlink(missing_ok=True)
            raise ArchiveError(f"{request.describe()}: the archive's answer is not a usable image "
                               f"({str(exc).split(': ', 1)[-1]})") from exc
        os.replace(partial, path)
        return path

    def fetch_many(self, requests: Iterable[FieldRequest], *, workers: int = 3, min_interval_s: float = 0.5,
                   progress: Callable[[int, int], None] | None = None) -> FetchReport:
        """Fetch fields a few at a time, starting at most one request every ``min_interval_s`` (a polite
        rate), skipping those already cached. Failures are collected, not raised."""
        requests = list(dict.fromkeys(requests))
        report = FetchReport()
        missing = []
        for request in requests:
            if self.path(request).is_file():
                report.cached += 1
            else:
                missing.append(request)
        lock, last_start = threading.Lock(), [0.0]
        done = [report.cached]

        def polite_fetch(request: FieldRequest) -> str | None:
            with lock:
                wait = last_start[0] + min_interval_s - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                last_start[0] = time.monotonic()
            try:
                self.fetch(request)
                return None
            except ArchiveError as exc:
                return str(exc)

        if progress is not None:
            progress(done[0], len(requests))
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="xid-fetch") as pool:
            for failure in pool.map(polite_fetch, missing):
                if failure is None:
                    report.fetched += 1
                else:
                    report.failed.append(failure)
                done[0] += 1
                if progress is not None:
                    progress(done[0], len(requests))
        return report

    def _hips2fits(self, hips: str, request: FieldRequest) -> fits.HDUList:
        import requests

        # hips2fits's documented HTTP parameters, sent as they are: astroquery's client builds its query with
        # matplotlib (for colour maps, even for FITS output)
        payload = dict(hips=hips, width=request.pixels, height=request.pixels, projection="TAN", coordsys="icrs",
                       ra=request.ra, dec=request.dec, fov=request.field_arcsec / 3600.0, format="fits")
        response = requests.get(self.urls["hips2fits"], params=payload, timeout=self.timeout_s)
        if response.status_code != 200:
            try:  # hips2fits explains its refusals in JSON
                answer = response.json()
                detail = ": " + " ".join(str(answer.get(k, "")) for k in ("title", "description")).strip()
            except ValueError:
                detail = ""
            raise ArchiveError(f"{request.describe()}: the archive answered HTTP {response.status_code}{detail}")
        return _fits(response.content, request)

    def _skyview(self, survey: str, request: FieldRequest) -> fits.HDUList:
        import requests
        from astroquery.skyview import SkyViewClass

        client = SkyViewClass()
        client.URL = self.urls["skyview"]
        side = request.field_arcsec * u.arcsec

        def image_list() -> list[str]:
            # astroquery caches SkyView's form page as a pickle it writes in place, so threads fetching at once
            # read each other's half-written files ("EOFError: Ran out of input"): each listing gets a cache
            # of its own. XID caches the image itself.
            with tempfile.TemporaryDirectory(prefix="xid-skyview-") as scratch:
                client.cache_location = scratch
                return client.get_image_list(SkyCoord(request.ra, request.dec, unit="deg"), survey,
                                             pixels=request.pixels, width=side, height=side, cache=False)

        # astroquery's SkyView has no timeout of its own: wait for its answer at most timeout_s
        listing = _waiting.submit(image_list)
        try:
            urls = listing.result(timeout=self.timeout_s)
        except FutureTimeout:
            raise requests.Timeout("SkyView did not answer") from None
        if not urls:
            raise ArchiveError(f"{request.describe()}: SkyView returned no image (is {survey!r} one of its surveys?)")
        response = requests.get(urls[0], timeout=self.timeout_s)
        response.raise_for_status()
        return _fits(response.content, request)


def _fits(content: bytes, request: FieldRequest) -> fits.HDUList:
    if not content.startswith(b"SIMPLE"):
        start = content[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        raise ArchiveError(f"{request.describe()}: the archive's answer is not a FITS image (it begins {start!r})")
    return fits.HDUList.fromstring(content)


def _reason(exc: Exception, timeout_s: float) -> str:
    import requests

    if isinstance(exc, requests.Timeout):
        return f"no answer from the archive within {timeout_s:g} s"
    if isinstance(exc, requests.ConnectionError):
        return f"the archive cannot be reached ({exc.__class__.__name__})"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"the archive answered HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, ValueError) and "survey" in str(exc).lower():  # astroquery checks SkyView's survey names
        return f"the archive does not know this survey ({str(exc).splitlines()[0]})"
    return f"the archive's answer is not a usable image ({exc.__class__.__name__}: {exc})"
