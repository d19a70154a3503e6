"""Make the broken and unusual image files of this folder from one real FIRST cutout (the demo's).

Run from the repository root: ``python tests/data/bad_images/make.py``. The files are committed; this
script says how each was made.
"""

import gzip
import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits

HERE = Path(__file__).parent
REAL = Path("xid_app/demo_data/rgz_first/52af80ff7aa69f059a001478.fits")


def main() -> None:
    with fits.open(REAL) as hdul:
        data = np.squeeze(hdul[0].data).astype(np.float32)[:64, :64]
        header = hdul[0].header.copy()
    for key in [k for k in header if k[-1:] in "34" and k[:-1] in ("NAXIS", "CTYPE", "CRVAL", "CRPIX", "CDELT",
                                                                   "CUNIT", "CROTA")]:
        del header[key]
    header["NAXIS"] = 2
    header["WCSAXES"] = 2
    header["CRPIX1"], header["CRPIX2"] = 32.0, 32.0
    good = fits.PrimaryHDU(data, header)

    good.writeto(HERE / "nan_crval.fits", overwrite=True)  # astropy refuses to write NaN: patch the card
    raw = bytearray((HERE / "nan_crval.fits").read_bytes())
    at = raw.index(b"CRVAL1  =")
    raw[at:at + 80] = b"CRVAL1  =                  NaN / as some pipelines write a failed fit".ljust(80)
    (HERE / "nan_crval.fits").write_bytes(bytes(raw))

    no_wcs = fits.PrimaryHDU(data)
    no_wcs.writeto(HERE / "no_wcs.fits", overwrite=True)

    fits.PrimaryHDU(np.full_like(data, np.nan), good.header).writeto(HERE / "all_nan.fits", overwrite=True)

    cube = fits.PrimaryHDU(np.stack([data, data * 0.5, data * 0.25])[None], good.header.copy())
    cube.header["CTYPE3"], cube.header["CRVAL3"], cube.header["CDELT3"], cube.header["CRPIX3"] = \
        "FREQ", 1.4e9, 1e6, 1.0
    cube.header["CTYPE4"], cube.header["CRVAL4"], cube.header["CDELT4"], cube.header["CRPIX4"] = \
        "STOKES", 1.0, 1.0, 1.0
    cube.writeto(HERE / "cube_4d.fits", overwrite=True)

    galactic = good.copy()  # the same field, its WCS in galactic coordinates
    from astropy.coordinates import SkyCoord

    centre = SkyCoord(good.header["CRVAL1"], good.header["CRVAL2"], unit="deg", frame="fk5").galactic  # EQUINOX 2000
    galactic.header["CTYPE1"], galactic.header["CTYPE2"] = "GLON-SIN", "GLAT-SIN"
    galactic.header["CRVAL1"], galactic.header["CRVAL2"] = centre.l.deg, centre.b.deg
    for key in ("RADESYS", "EQUINOX", "EPOCH"):
        galactic.header.remove(key, ignore_missing=True)
    galactic.writeto(HERE / "galactic.fits", overwrite=True)

    good.writeto(HERE / "huge_header.fits", overwrite=True)  # then make its header lie about the image
    raw = bytearray((HERE / "huge_header.fits").read_bytes())
    for key in (b"NAXIS1  =", b"NAXIS2  ="):
        at = raw.index(key)
        raw[at:at + 80] = (key + b"               200000").ljust(80)
    (HERE / "huge_header.fits").write_bytes(bytes(raw))

    (HERE / "html_error.fits").write_text(
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
        "<body><h1>Bad Gateway</h1><p>The archive is busy.</p></body></html>\n")

    good.writeto(HERE / "_good.fits", overwrite=True)
    with open(HERE / "_good.fits", "rb") as plain, gzip.open(HERE / "gzipped.fits.gz", "wb") as packed:
        shutil.copyfileobj(plain, packed)

    scaled = fits.PrimaryHDU(data, good.header.copy())
    scaled.scale("int16", bscale=float(np.nanmax(np.abs(data))) / 30000, bzero=0.0)
    scaled.writeto(HERE / "scaled_int16.fits", overwrite=True)

    whole = (HERE / "_good.fits").read_bytes()
    (HERE / "truncated.fits").write_bytes(whole[: 2880 + 4000])
    (HERE / "_good.fits").unlink()

    (HERE / "empty.fits").write_bytes(b"")

    from PIL import Image

    Image.fromarray(np.zeros((16, 16), np.uint8)).save(HERE / "picture_without_sidecar.png")


if __name__ == "__main__":
    main()
