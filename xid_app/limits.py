"""How long each kind of text XID stores may be, and the check every edge (CLI files, the page) applies.

The schema's column lengths are these numbers (``store/models.py``), so a value that passes here fits on
SQLite (which would store anything) and on PostgreSQL (which would refuse it with a raw database error).
"""

from __future__ import annotations

import re

SOURCE_ID = 200
BAND = 100
USER_NAME = 100
CATALOGUE_ID = 100
COMPONENT_ID = 100
CLASSIFICATION_ID = 100
# control characters: a NUL ends a C string and PostgreSQL refuses it; tabs and newlines break exported tables
# (the characters themselves, not escapes: pandas hands such a pattern to Arrow's RE2, ~4x faster)
CONTROL_CHARACTERS = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL = re.compile(CONTROL_CHARACTERS)


def text_problem(value: str, what: str, max_length: int) -> str | None:
    """Why ``value`` cannot be stored as ``what``, or ``None``: empty, too long, or holding a control
    character."""
    if not value:
        return f"empty {what}"
    if len(value) > max_length:
        return f"{what} of {len(value):,} characters (at most {max_length})"
    if _CONTROL.search(value):
        return f"{what} holding a control character (NUL, tab, newline...)"
    return None


# A spreadsheet runs a cell beginning with one of these as a formula (=HYPERLINK(...) phones home): exported
# CSV cells that begin so get a leading apostrophe, as OWASP advises, and XID's own readers take it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def from_spreadsheet_safe(value: str) -> str:
    """The inverse of :func:`spreadsheet_safe`, for XID's exports read back in."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value
