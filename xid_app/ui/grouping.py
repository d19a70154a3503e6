"""The radio sources an annotator marks in one field: groups of the field's components, one of them being
marked. No widgets and no database: the session owns one and the page draws it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..answers import Mark
from ..components import FieldComponents
from ..coords import sky_to_pixel, tangent_offsets_arcsec
from .errors import SessionError


@dataclass
class ComponentGroups:
    """Groups of component IDs, one per radio source marked; ``active`` is the one new components and hosts
    go to. ``in_field`` is the field's components (``None`` where no components are ingested: then there
    are no groups and hosts are marked as before)."""

    in_field: FieldComponents | None = None
    groups: list[list[str]] = field(default_factory=list)
    active: int = 0

    @classmethod
    def for_field(cls, in_field: FieldComponents | None) -> ComponentGroups:
        """A new answer: one source holding the field's target component (pre-selected), if it has one."""
        target = in_field.target if in_field is not None else None
        return cls(in_field, [[target]] if target else [], 0)

    def restored(self, groups) -> ComponentGroups:
        """These components with a stored answer's groups, the last one being marked."""
        if not groups:
            return self
        return ComponentGroups(self.in_field, [list(g) for g in groups], len(groups) - 1)

    def owner(self, component_id: str) -> int | None:
        return next((i for i, group in enumerate(self.groups) if component_id in group), None)

    def toggle(self, component_id: str) -> None:
        """Put a component of this field into the source being marked, or take it out again."""
        if self.in_field is None or component_id not in set(self.in_field.rows.ids):
            raise SessionError(f"{component_id!r} is not a component of this field")
        self._ensure_one()
        owner = self.owner(component_id)
        if owner == self.active:
            self.groups[self.active].remove(component_id)
        elif owner is not None:
            raise SessionError(f"{component_id} is already in source {owner + 1}: a component belongs to one "
                               "source (Clear to start again)")
        else:
            self.groups[self.active].append(component_id)

    def pick(self, x: float, y: float, wcs, pixel_scale_arcsec: float, pick_radius_px: float) -> str:
        """The component a click at background pixel ``(x, y)`` is on: the one whose centre is nearest, if
        the click is within its ellipse or ``pick_radius_px`` of its centre."""
        rows = self._rows()
        cx, cy = sky_to_pixel(wcs, rows.ra, rows.dec)
        distance = np.hypot(cx - x, cy - y)
        reach = np.maximum(np.nan_to_num(rows.major, nan=0.0) / 2 / pixel_scale_arcsec, pick_radius_px)
        nearest = int(np.argmin(distance))
        if distance[nearest] > reach[nearest]:
            raise SessionError("no component there: click inside a component's ellipse")
        return str(rows.ids[nearest])

    def add_nearest(self, ra: float, dec: float) -> str:
        """Add the free component nearest the source being marked (its components' centre; with none yet,
        ``(ra, dec)``)."""
        rows = self._rows()
        self._ensure_one()
        free = np.array([self.owner(str(c)) is None for c in rows.ids])
        if not free.any():
            raise SessionError("every component of this field is already in a source")
        members = [self.in_field.row(c) for c in self.groups[self.active]]
        if members:
            ra, dec = rows.ra[members].mean(), rows.dec[members].mean()
        xi, eta = tangent_offsets_arcsec(rows.ra, rows.dec, ra, dec)
        choice = str(rows.ids[np.flatnonzero(free)[np.argmin(np.hypot(xi, eta)[free])]])
        self.groups[self.active].append(choice)
        return choice

    def remove_last(self) -> str:
        """Take the component added last out of the source being marked."""
        if not self.groups or not self.groups[self.active]:
            raise SessionError("no component in this source to take out")
        return self.groups[self.active].pop()

    def another(self) -> None:
        """Finish the source being marked and start another in the same field."""
        if self.in_field is None:
            raise SessionError("this field has no radio components: mark each source's host with a click")
        if self.groups and not self.groups[self.active]:
            raise SessionError(f"source {self.active + 1} has no components yet: add its components first")
        self.groups.append([])
        self.active = len(self.groups) - 1

    def stored(self, marks: list[Mark]) -> tuple[list[list[str]], list[Mark]]:
        """The groups as stored (empty ones without a host dropped) and the marks renumbered to match."""
        if not self.groups:
            return [], [replace(m, group=0) for m in marks]
        hosted = {m.group for m in marks}
        keep = [i for i, g in enumerate(self.groups) if g or i in hosted]
        number = {old: new for new, old in enumerate(keep)}
        return [sorted(self.groups[i]) for i in keep], [replace(m, group=number[m.group]) for m in marks]

    def says_more_than_target(self) -> bool:
        """Whether the groups hold more than the pre-selected target alone."""
        return [g for g in self.groups if g] != ComponentGroups.for_field(self.in_field).groups

    def _rows(self):
        if self.in_field is None or not len(self.in_field.rows):
            raise SessionError("this field has no radio components to group")
        return self.in_field.rows

    def _ensure_one(self) -> None:
        if not self.groups:
            self.groups, self.active = [[]], 0


def compare_groups(expert: tuple[tuple[str, ...], ...], mine: tuple[tuple[str, ...], ...]) -> str:
    """A sentence on how an annotator grouped a gold-standard field's components against the expert (empty
    where the expert grouped none)."""
    if not expert:
        return ""
    theirs, ours = {frozenset(g) for g in expert if g}, {frozenset(g) for g in mine if g}
    if theirs == ours:
        return " Components: grouped as the expert did. ✔"

    def listing(groups) -> str:
        return "; ".join(" + ".join(sorted(g)) for g in sorted(groups, key=sorted)) or "none"

    return f" Components: the expert's sources are {listing(theirs)}; yours are {listing(ours)}."
