"""What the page draws over the image and lists beside it: the field's components coloured by the source
each is in, the hosts marked, by source, and what is shown of the source."""

from __future__ import annotations

import numpy as np

from ..answers import Mark
from ..coords import ellipses_to_pixels
from ..imaging import View
from .grouping import ComponentGroups
from .messages import as_text
from .viewer import ACTIVE_COMPONENT_COLOUR, FREE_COMPONENT_COLOUR, GROUPED_COMPONENT_COLOUR

SMALLEST_COMPONENT = 0.03  # of the field's side: a component of unknown or tiny size is drawn this big


def component_ellipses(grouping: ComponentGroups, view: View) -> tuple:
    """The field's components as pixel ellipses (see :meth:`SkyImage.show_components`): the source being
    marked in one colour, other sources in another, components in none in a third."""
    rows = grouping.in_field.rows if grouping.in_field is not None else None
    if rows is None or not len(rows):
        return (np.empty(0),) * 5 + ([],)
    owners = [grouping.owner(str(c)) for c in rows.ids]
    colours = [FREE_COMPONENT_COLOUR if o is None else ACTIVE_COMPONENT_COLOUR if o == grouping.active
               else GROUPED_COMPONENT_COLOUR for o in owners]
    return (*ellipses_to_pixels(view.wcs, rows.ra, rows.dec, rows.major, rows.minor, rows.pa, north=view.north,
                                east=view.east, pixel_scale_arcsec=view.pixel_scale_arcsec,
                                smallest_px=SMALLEST_COMPONENT * max(view.image.shape)), colours)


def answer_summary(marks: list[Mark], grouping: ComponentGroups) -> str:
    """HTML: the hosts marked; where the field has components, each source's components and host."""

    def host(m: Mark) -> str:
        return f"{m.ra:.5f}, {m.dec:+.5f}" + (f" · <b>{as_text(m.catalogue_id)}</b>" if m.catalogue_id else "")

    text = f"Hosts marked: {len(marks)}"
    if not grouping.groups:
        items = "".join(f"<li>{host(m)}</li>" for m in marks)
        return text + (f"<ul>{items}</ul>" if items else "")
    items = []
    for number, group in enumerate(grouping.groups):
        hosts = [host(m) for m in marks if m.group == number] or ["none yet"]
        now = " ◀ marking" if number == grouping.active else ""
        items.append(f'<li class="xid-source-{number + 1}">Source {number + 1}{now}: {len(group)} component(s) '
                     f"{as_text(', '.join(group))}; host {'; '.join(hosts)}</li>")
    return text + f"<ul>{''.join(items)}</ul>"


def source_details(source, view: View | None, floor: float) -> str:
    """The source's position and what the image and contours show (HTML, user text escaped)."""
    lines = [f"RA {source.ra:.5f}°, Dec {source.dec:+.5f}° (ICRS)"]
    if view is not None:
        lines.append(f'Image: <span class="xid-band">{as_text(view.background_band)}</span>')
        if view.contour_band and np.isfinite(view.rms):
            lines.append(f"Contours: {as_text(view.contour_band)} from {floor:g}σ (rms {view.rms:.3g})")
        elif view.contour_band:  # a display render has no noise level: one is taken from its brightness
            lines.append(f"Contours: {as_text(view.contour_band)} from {floor:g}σ of its display noise "
                         f"(a rendered image, not flux)")
    return "<br>".join(lines)
