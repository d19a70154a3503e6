"""What a valid answer is: the hosts marked (:class:`Mark`), the radio components grouped into sources, the
flags an annotator can raise, the comment, and the checks every answer passes before it is stored, whichever
road it comes by (the page, an interchange import, an admin's final answer). No database here.

Where components are ingested, an answer holds *groups*: ``groups[i]`` is the set of component IDs the
annotator says make up radio source ``i`` of the field, and a mark with ``group == i`` is that source's host.
A group no mark names has no host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .coords import valid_sky_position
from .limits import CLASSIFICATION_ID, text_problem

FLAGS = ("artefact", "blend", "too_zoomed_in", "unsure")  # what an annotator can flag, in this order
MAX_COMMENT_LENGTH = 2000


@dataclass(frozen=True)
class Mark:
    """A host marked on the page: sky position plus the pixel and layer it was clicked on."""

    ra: float
    dec: float
    layer_pk: int | None = None
    pixel_x: float | None = None
    pixel_y: float | None = None
    catalogue_id: str | None = None
    click_ra: float | None = None  # where the click was, when the mark snapped to a catalogue object
    click_dec: float | None = None
    group: int = 0  # the radio source (component group) of the answer this is the host of


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as stored: what the page shows when a user comes back to a source."""

    marks: tuple[Mark, ...]
    no_host: bool
    flags: frozenset[str]
    comment: str
    groups: tuple[tuple[str, ...], ...] = ()


class InvalidSubmission(ValueError):
    """A submission that must not be stored (bad position, unknown source or user)."""


def comment_problem(comment: str) -> str | None:
    """Why a comment cannot be stored, or ``None`` (PostgreSQL text holds no NUL character)."""
    if len(comment) > MAX_COMMENT_LENGTH:
        return f"a comment has at most {MAX_COMMENT_LENGTH} characters"
    if "\x00" in comment:
        return "a comment cannot hold NUL characters"
    return None


def check_answer(*, submission_id: str, marks: Sequence[Mark], no_host: bool, flags: Iterable[str],
                 comment: str, groups: Sequence[Sequence[str]] = ()) -> None:
    """Refuse an answer that must not be stored.

    An answer marks hosts, or says "no host", or only raises flags (e.g. an artefact has no host).

    Raises
    ------
    InvalidSubmission
        If the answer id is not one XID could store, a mark's position is not a valid sky position, the
        answer is both "no host" and has marks, it is empty, a flag is unknown, the comment too long, a
        component is in two groups, or a mark names a group the answer does not have.
    """
    flags = set(flags)
    if problem := text_problem(submission_id, "answer id", CLASSIFICATION_ID):
        raise InvalidSubmission(problem)
    if no_host and marks:
        raise InvalidSubmission("an answer cannot both mark hosts and say there is no host")
    if not (no_host or marks or flags or groups):
        raise InvalidSubmission("mark a host, choose 'No host', or raise a flag")
    if (problem := groups_problem(groups, marks)) is not None:
        raise InvalidSubmission(problem)
    if flags - set(FLAGS):
        raise InvalidSubmission(f"unknown flag(s): {', '.join(sorted(flags - set(FLAGS)))}")
    if (problem := comment_problem(comment)) is not None:
        raise InvalidSubmission(problem)
    bad = [m for m in marks if not valid_sky_position(m.ra, m.dec)]
    if bad:
        raise InvalidSubmission(f"invalid host position {bad[0].ra!r}, {bad[0].dec!r}")


def groups_problem(groups: Sequence[Sequence[str]], marks: Sequence[Mark] = ()) -> str | None:
    """Why an answer's component groups cannot be stored, or ``None``: a component may be in one source
    only, and a host must belong to one of the answer's sources."""
    seen: dict[str, int] = {}
    for number, group in enumerate(groups):
        for component in group:
            if component in seen:
                return (f"component {component} is in two sources ({seen[component] + 1} and {number + 1}); "
                        "a component belongs to one source")
            seen[component] = number
    highest = max(len(groups) - 1, 0)
    if any(not 0 <= m.group <= highest for m in marks):
        return "a host belongs to a source the answer does not have"
    return None
