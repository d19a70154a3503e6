"""Telling an annotator how their answer on a gold-standard source compares with the expert's."""

from __future__ import annotations

import numpy as np

from ..answers import Mark
from ..coords import tangent_offsets_arcsec


def compare_with_gold(expert: list[Mark], expert_no_host: bool, mine: list[Mark], my_no_host: bool,
                      radius_arcsec: float) -> str:
    """A sentence telling an annotator how their answer compares with the expert's."""
    if not expert:
        return ("Gold check: the expert also saw no host. ✔" if my_no_host or not mine
                else f"Gold check: the expert saw no host here; you marked {len(mine)}.")
    if not mine:
        return f"Gold check: the expert marked {len(expert)} host(s); you marked none."
    found, offsets = 0, []
    for e in expert:
        xi, eta = tangent_offsets_arcsec([m.ra for m in mine], [m.dec for m in mine], e.ra, e.dec)
        d = float(np.min(np.hypot(xi, eta)))
        if d <= radius_arcsec:
            found += 1
            offsets.append(d)
    extra = max(len(mine) - found, 0)
    text = f"Gold check: you found {found} of the expert's {len(expert)} host(s)"
    if offsets:
        text += f" (within {max(offsets):.1f}″)"
    if extra:
        text += f"; {extra} of your marks match no expert host"
    return text + (". ✔" if found == len(expert) and not extra else ".")
