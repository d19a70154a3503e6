"""Draw the pictures of the newcomers' guide (static/guide/*.png) from the demo's real data, with XID's own
imaging (the page's stretch and contour levels): ``python docs/make_guide_images.py``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

from xid_app.coords import sky_to_pixel
from xid_app.cutouts import read_layer_file
from xid_app.demo import DEMO_DIR
from xid_app.imaging import compose_view

OUT = Path(__file__).parents[1] / "static/guide"
SIZE = 260
EXAMPLES = {  # picture: (source of the demo, its RGZ consensus hosts drawn or not, central share shown)
    "compact": ("ARG000307k", True, 0.45),
    "double": ("ARG00032pj", True, 0.45),
    "two-sources": ("ARG00031w6", True, 0.75),
    "no-host": ("ARG00031r7", False, 0.6),
}


def picture(source_id: str, show_hosts: bool, share: float) -> Image.Image:
    sources = pd.read_csv(DEMO_DIR / "sources.csv").set_index("source_id")
    layer = read_layer_file(DEMO_DIR / sources.loc[source_id, "radio_image"], band="FIRST", kind="radio")
    view = compose_view([layer])
    ny, nx = view.image.shape
    grey = Image.fromarray(view.image[::-1]).convert("RGB")  # row 0 at the bottom, as in FITS
    scale = SIZE / (share * max(nx, ny))
    grey = grey.resize((round(nx * scale), round(ny * scale)), Image.BICUBIC)
    draw = ImageDraw.Draw(grey)
    for line in view.contours.lines:
        xy = [(x * scale, (ny - 1 - y) * scale) for x, y in line]
        draw.line(xy, fill=(51, 204, 255), width=1)
    if show_hosts:
        hosts = pd.read_csv(DEMO_DIR / "consensus_hosts.csv")
        hosts = hosts[(hosts.source_id == source_id) & (hosts.has_host == 1)]
        for x, y in zip(*sky_to_pixel(view.wcs, hosts.host_ra.to_numpy(), hosts.host_dec.to_numpy())):
            cx, cy, r = x * scale, (ny - 1 - y) * scale, 9
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(255, 51, 85), width=3)
    left, top = (grey.width - SIZE) // 2, (grey.height - SIZE) // 2
    return grey.crop((left, top, left + SIZE, top + SIZE))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (source_id, show_hosts, share) in EXAMPLES.items():
        picture(source_id, show_hosts, share).save(OUT / f"{name}.png", optimize=True)
        print(OUT / f"{name}.png")
