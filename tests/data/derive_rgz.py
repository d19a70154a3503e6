"""How xid_app/demo_data/annotations_with_components.csv and rgz_islands.csv were derived from Radio Galaxy Zoo's
radio_classifications_matched.jsonl (ivyw/rgzdr2, Apache-2.0), kept so the derivation can be checked:

    python tests/data/derive_rgz.py ../shared/data/rgz_first OUT_DIR

Each classification's ``coord_matches`` entry is one radio source: its ``radio`` components (FIRST names
lose their ``FIRST_`` prefix to match the FIRST catalogue's own IDs; ``NOFIRST_`` islands, which no catalogue
lists, keep their names and get their position from them) and its ``ir`` host (``NOSOURCE``: no host). A
classification with no entry said nothing is there (one no-host row).
"""

import csv
import json
import re
import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

COLUMNS = ("classification_id", "source_id", "user", "host_ra", "host_dec", "no_host", "components")
ISLAND = re.compile(r"NOFIRST_J(\d\d)(\d\d)(\d\d\.\d+)([+-]\d\d)(\d\d)(\d\d\.\d+)")


def main(data: Path, out: Path) -> None:
    subjects = {row["source_id"] for row in csv.DictReader(open(data / "sources.csv"))}
    rows, islands = [], {}
    for line in open(data / "radio_classifications_matched.jsonl"):
        c = json.loads(line)
        if c["zid"] not in subjects:
            continue
        base = dict(classification_id=c["id"], source_id=c["zid"], user="anon-" + c["id"])
        if not c["coord_matches"]:
            rows.append({**base, "host_ra": "", "host_dec": "", "no_host": "1", "components": ""})
        for match in c["coord_matches"]:
            for name in match["radio"]:
                if m := ISLAND.fullmatch(name):
                    position = SkyCoord(f"{m[1]}h{m[2]}m{m[3]}s {m[4]}d{m[5]}m{m[6]}s")
                    islands[name] = (position.ra.deg, position.dec.deg)
            components = ";".join(sorted(name.removeprefix("FIRST_") for name in match["radio"]))
            if match["ir"] == "NOSOURCE":
                host = {"host_ra": "", "host_dec": "", "no_host": "1"}
            else:
                p = SkyCoord(match["ir"], unit=(u.hourangle, u.deg))
                host = {"host_ra": f"{p.ra.deg:.7f}", "host_dec": f"{p.dec.deg:.7f}", "no_host": "0"}
            rows.append({**base, **host, "components": components})
    with open(out / "annotations_with_components.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "rgz_islands.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["component_id", "ra", "dec"])
        for name, (ra, dec) in sorted(islands.items()):
            writer.writerow([name, f"{ra:.7f}", f"{dec:.7f}"])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
