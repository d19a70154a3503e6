"""Property tests (Hypothesis) on every user-controlled input: typed positions and IDs, clicks, comments,
user names, and uploaded tables. Whatever comes in, the answer is a value that is valid or a clear
refusal, and nothing invalid is stored."""

import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import logged_in
from xid_app.answers import MAX_COMMENT_LENGTH, InvalidSubmission, Mark
from xid_app.auth import valid_user_name
from xid_app.coords import parse_position, valid_sky_position
from xid_app.ingest import read_sources
from xid_app.interchange import read_annotations
from xid_app.optical import read_optical_catalogue
from xid_app.store.classifications import save_classification
from xid_app.store.models import Classification, HostMark
from xid_app.tables import IngestError
from xid_app.ui.errors import SessionError
from xid_app.ui.messages import as_text
from xid_app.ui.session import AnnotationSession

FIXTURES = dict(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
HOSTILE_TEXT = st.one_of(
    st.text(),
    st.sampled_from(["nan", "NaN NaN", "1e309 1e309", "inf -inf", "-0 -90", "360 0", "<script>alert(1)</script>",
                     "10:03:08.6 +10:50:48", "150.786, +10.8468", "J100308.64+105048.6", "'; DROP TABLE users; --",
                     "\x00\x01", "\u202e gnp.exe", "9" * 400]),
)
HOSTILE_FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                           st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e309, -1e-320, 1e300]))


@given(HOSTILE_TEXT)
def test_a_typed_position_is_on_the_sky_or_refused_with_a_reason(text):
    try:
        ra, dec = parse_position(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert valid_sky_position(ra, dec) and math.isfinite(ra) and math.isfinite(dec)


@given(st.floats(0, 359.999999), st.floats(-90, 90))
def test_decimal_positions_round_trip(ra, dec):
    got = parse_position(f"{ra:.7f} {dec:+.7f}")
    assert got == pytest.approx((float(f"{ra:.7f}"), float(f"{dec:+.7f}")), abs=1e-9)


@given(HOSTILE_TEXT)
def test_user_names_are_printable_and_bounded(name):
    try:
        cleaned = valid_user_name(name)
    except ValueError:
        return
    assert cleaned == name.strip() and 0 < len(cleaned) <= 100 and cleaned.isprintable()


@given(st.text())
def test_user_text_is_shown_as_text_never_markup(text):
    shown = as_text(text)
    assert "<" not in shown and ">" not in shown and '"' not in shown
    assert shown.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&#x27;", "'") \
        .replace("&amp;", "&") == text


@pytest.fixture
def session(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "hypothesis")
    return s


def _stored_marks(project):
    with project.engine.connect() as conn:
        return conn.execute(sa.select(HostMark.ra, HostMark.dec)).all()


@settings(max_examples=60, **FIXTURES)
@given(x=HOSTILE_FLOATS, y=HOSTILE_FLOATS)
def test_clicks_anywhere_give_a_valid_mark_or_a_refusal(session, x, y):
    session.clear_marks()
    try:
        mark = session.click(x, y)
    except SessionError:
        assert session.marks == []
        return
    assert mark is not None and valid_sky_position(mark.ra, mark.dec)


@settings(max_examples=60, **FIXTURES)
@given(text=HOSTILE_TEXT)
def test_typed_ids_and_positions_give_a_mark_on_the_field_or_a_refusal(session, text):
    session.clear_marks()
    try:
        mark = session.match(text)
    except SessionError as exc:
        assert str(exc) and session.marks == []
        return
    ny, nx = session.current.view.image.shape
    assert valid_sky_position(mark.ra, mark.dec) and -0.5 <= mark.pixel_x <= nx - 0.5


@settings(max_examples=40, **FIXTURES)
@given(comment=st.text(max_size=2500))
def test_comments_are_stored_exactly_or_refused(session, demo_project, comment):
    try:
        session.set_comment(comment)
    except SessionError:
        assert len(comment) > MAX_COMMENT_LENGTH or "\x00" in comment  # PostgreSQL text holds no NUL
        return
    session.toggle_flag("unsure") if "unsure" not in session.flags else None
    session.submission_id = f"hyp-{abs(hash(comment))}-{len(comment)}"
    session.loaded_answer = ()
    session.submit()
    with demo_project.engine.connect() as conn:
        stored = conn.execute(sa.select(Classification.comment)
                              .where(Classification.submission_id == session.submission_id)).scalar_one()
    assert stored == comment


@settings(max_examples=60, **FIXTURES)
@given(ra=HOSTILE_FLOATS, dec=HOSTILE_FLOATS)
def test_the_store_refuses_invalid_positions_and_keeps_nothing_of_them(demo_project, ra, dec):
    before = len(_stored_marks(demo_project))
    with demo_project.session() as db, db.begin():
        try:
            save_classification(db, submission_id=f"p-{ra}-{dec}", user_pk=1, source_pk=1,
                                marks=[Mark(ra, dec)])
            accepted = True
        except InvalidSubmission:
            accepted = False
    assert accepted == bool(valid_sky_position(ra, dec))
    assert all(valid_sky_position(r, d) for r, d in _stored_marks(demo_project))
    assert len(_stored_marks(demo_project)) == before + accepted


CELL = st.one_of(st.text(max_size=12), st.sampled_from(["nan", "1e309", "-inf", "<b>x</b>", "", "0", "1", "400"]),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr))


def _csv(columns, rows) -> str:
    return pd.DataFrame(rows, columns=columns).to_csv(index=False)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(CELL, CELL, CELL, CELL, CELL, CELL), max_size=8))
def test_uploaded_interchange_files_keep_only_valid_rows(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("csv") / "a.csv"
    path.write_text(_csv(["classification_id", "source_id", "user", "host_ra", "host_dec", "no_host"], rows))
    try:
        parsed = read_annotations(path)
    except IngestError:
        return
    kept = parsed.rows
    clicks = kept[~kept.no_host]
    assert valid_sky_position(clicks.host_ra.to_numpy(float), clicks.host_dec.to_numpy(float)).all()
    # every record in the file is kept or refused (a bare carriage return the writer left unquoted is a
    # record separator, so count what is in the file, not what was generated)
    assert len(kept) + len(parsed.rejected) == len(pd.read_csv(path, dtype=str, keep_default_na=False))


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(CELL, CELL, CELL), max_size=8), header=st.sampled_from([
    ["source_id", "ra", "dec"], ["id", "ra", "dec"], ["source_id", "RA", "DEC"], ["name", "x", "y"]]))
def test_uploaded_source_lists_and_catalogues_are_valid_or_refused(tmp_path_factory, rows, header):
    folder = tmp_path_factory.mktemp("csv")
    path = folder / "s.csv"
    path.write_text(_csv(header, rows))
    for reader in (read_sources, read_optical_catalogue):
        try:
            result = reader(path)
        except IngestError as exc:
            assert "nothing ingested" in str(exc)
            continue
        if reader is read_sources:
            assert valid_sky_position(result.ra, result.dec).all()
        else:
            assert valid_sky_position(result.ra, result.dec).all() and len(set(result.ids)) == len(result.ids)


def test_binary_garbage_as_a_table_is_refused(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)))
    for reader in (read_sources, read_optical_catalogue, read_annotations):
        with pytest.raises(IngestError):
            reader(path)
