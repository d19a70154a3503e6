"""Fields cut from a 20,000 × 20,000 mosaic (generated here, float32, 1.6 GB on disk, memory-mapped).

XID keeps tiles open and cuts with astropy's Cutout2D from the memory map. Baseline in the same run:
opening the FITS file for every cutout (what a script calling ``fits.open`` + ``Cutout2D`` per source
pays). Goal: ≥ 500 cutouts/s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

from xid_app import mosaics
from xid_app.coords import pixel_to_sky


def make_mosaic(path: Path, side: int) -> None:
    """A SIN-projected float32 mosaic of noise, 1.5"/px like LoTSS, written without holding it in memory."""
    header = fits.Header()
    header.update(SIMPLE=True, BITPIX=-32, NAXIS=2, NAXIS1=side, NAXIS2=side, CTYPE1="RA---SIN",
                  CTYPE2="DEC--SIN", CRVAL1=205.0, CRVAL2=55.0, CRPIX1=side / 2, CRPIX2=side / 2,
                  CDELT1=-1.5 / 3600, CDELT2=1.5 / 3600, CUNIT1="deg", CUNIT2="deg", RADESYS="ICRS", BUNIT="JY/BEAM")
    header.tofile(path, overwrite=True)
    rows_per_block = 500
    rng = np.random.default_rng(0)
    with open(path, "ab") as out:
        for _ in range(0, side, rows_per_block):
            out.write(rng.normal(0, 1e-4, (rows_per_block, side)).astype(">f4").tobytes())
        out.write(b"\0" * (-out.tell() % 2880))


def run(quick: bool = False) -> list[dict]:
    side = 4_000 if quick else 20_000
    n = 300 if quick else 2_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mosaic.fits"
        make_mosaic(path, side)
        tile = mosaics.read_tile(path)
        rng = np.random.default_rng(1)
        ra, dec = pixel_to_sky(tile.wcs, rng.uniform(200, side - 200, n), rng.uniform(200, side - 200, n))
        mosaics.cut(path, float(ra[0]), float(dec[0]), 180, band="b", kind="radio")  # open the tile once
        t = time.perf_counter()
        for r, d in zip(ra, dec):
            mosaics.cut(path, float(r), float(d), 180, band="b", kind="radio")
        xid_rate = n / (time.perf_counter() - t)

        m = n // 10
        t = time.perf_counter()
        for r, d in zip(ra[:m], dec[:m]):
            with fits.open(path, memmap=True) as hdul:
                Cutout2D(hdul[0].data, SkyCoord(r, d, unit="deg"), (120, 120), wcs=WCS(hdul[0].header),
                         mode="partial", fill_value=np.nan, copy=True)
        naive_rate = m / (time.perf_counter() - t)
    return [dict(name=f'180" fields cut from a {side:,}² mosaic', value=xid_rate, unit="cutouts/s",
                 baseline=naive_rate, ratio=xid_rate / naive_rate,
                 goal="≥ 500/s; baseline: fits.open + Cutout2D per cutout")]
