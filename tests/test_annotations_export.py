"""`xid import-annotations` and `xid export`: the interchange CSV in, the host-ID catalogue out."""

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from astropy.coordinates import SkyCoord
from astropy.table import Table

from tests.conftest import logged_in
from tests.conftest import run_cli as run
from xid_app.demo import DEMO_SOURCES
from xid_app.export import COLUMNS
from xid_app.store.classifications import expert_queue, save_classification
from xid_app.store.models import Source
from xid_app.store.sources import set_gold
from xid_app.store.users import authenticate, get_or_create_user, set_user, user_stats

REQUIRED = ["source_id", "ra", "dec", "host_ra", "host_dec", "consensus_level", "n_classifications",
            "n_host_votes", "no_host_fraction"]



@pytest.fixture
def rgz_project(project, rgz):
    project.ingest(rgz["sources"])
    return project


def test_must_show_2_pipeline_on_real_rgz_data(rgz_project, rgz, tmp_path):
    """xid ingest → import-annotations → export hosts.fits, readable by astropy."""
    url = rgz_project.url
    code, out = run("import-annotations", rgz["annotations"], "--db", url)
    assert code == 0, out
    assert "imported 210 classification(s) with 247 click(s)" in out
    code, out = run("export", tmp_path / "hosts.fits", "--db", url)
    assert code == 0, out
    table = Table.read(tmp_path / "hosts.fits")
    assert set(REQUIRED) <= set(table.colnames)
    assert len(set(table["source_id"])) == 15
    assert table["host_ra"].unit == "deg"
    assert table.meta["CNSMETH"] == "xid"


def test_import_is_idempotent(rgz_project, rgz):
    first = rgz_project.import_annotations(rgz["annotations"])
    again = rgz_project.import_annotations(rgz["annotations"])
    assert (first.classifications_added, first.clicks_added) == (210, 247)
    assert (again.classifications_added, again.already_stored) == (0, 210)
    _, ann = rgz_project.consensus()[:2]
    assert len(ann.cls_source) == 210 and len(ann.click_ra) == 247


def test_bad_rows_are_reported_not_stored(rgz_project, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text(
        "classification_id,source_id,user,host_ra,host_dec,no_host\n"
        "c1,ARG000307k,ann,150.786,10.8468,0\n"
        "c2,NOT_A_SOURCE,ann,150.786,10.8468,0\n"   # unknown source
        "c3,ARG000307k,bob,nan,10.8468,0\n"          # NaN
        "c4,ARG000307k,bob,1e309,10.8468,0\n"        # overflows to inf
        "c5,ARG000307k,bob,10h03m,10.8468,0\n"       # malformed
        "c6,ARG000307k,bob,150.786,95,0\n"           # out of range
        "c7,ARG000307k,bob,,,2\n"                    # bad flag
        "c8,ARG000307k,bob,150.786,10.8468,1\n"      # no_host with coordinates
        "c9,ARG000307k,bob,,,1\n"                    # fine: no host
        "c1,ARG00030kn,ann,150.1,10.7,0\n"           # c1 reused for another source
    )
    report = rgz_project.import_annotations(csv)
    assert report.classifications_added == 1 and report.clicks_added == 0  # only c9 survives
    reasons = dict(report.rejected)
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 9, 11}
    assert "unknown source_id 'NOT_A_SOURCE'" in reasons[3]
    assert "invalid host coordinates" in reasons[4] and "invalid host coordinates" in reasons[5]
    assert "more than one source" in reasons[2]
    code, out = run("import-annotations", csv, "--db", rgz_project.url)
    assert code == 0 and "line 3: unknown source_id" in out


def test_missing_column_refuses_the_file(rgz_project, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("classification_id,source_id,host_ra,host_dec,no_host\nc1,ARG000307k,150.7,10.8,0\n")
    code, out = run("import-annotations", csv, "--db", rgz_project.url)
    assert code == 1 and "missing required column(s): user" in out


@pytest.mark.parametrize("ext", [".csv", ".ecsv", ".fits", ".vot"])
def test_export_round_trip_in_every_format(rgz_project, tmp_path, ext):
    """Two hosts marked together in one source → two rows; a no-host source → one blank row."""
    csv = tmp_path / "a.csv"
    rows = ["classification_id,source_id,user,host_ra,host_dec,no_host"]
    for i in range(4):  # four annotators mark the same two hosts of ARG00031w6
        rows += [f"w6-{i},ARG00031w6,u{i},150.91429,10.32683,0", f"w6-{i},ARG00031w6,u{i},150.92625,10.33408,0"]
    for i in range(3):
        rows += [f"qv-{i},ARG00032qv,u{i},,,1"]
    rows += ["qv-3,ARG00032qv,u3,150.1736,10.0,0"]
    csv.write_text("\n".join(rows) + "\n")
    rgz_project.import_annotations(csv)
    out = tmp_path / f"hosts{ext}"
    code, _ = run("export", out, "--db", rgz_project.url)
    assert code == 0
    t = Table.read(out)
    assert t.colnames == [c.name for c in COLUMNS]
    ids = [s.decode() if isinstance(s, bytes) else str(s) for s in t["source_id"]]
    w6 = t[np.array(ids) == "ARG00031w6"]
    assert len(w6) == 2
    np.testing.assert_allclose(sorted(w6["host_ra"]), [150.91429, 150.92625], atol=1e-6)
    assert list(w6["n_host_votes"]) == [4, 4]
    assert all(0.9 < level < 1 for level in w6["consensus_level"])  # calibrated: 4 of 4 is likely, not certain
    qv = t[np.array(ids) == "ARG00032qv"]
    assert len(qv) == 1
    assert np.ma.is_masked(qv["host_ra"][0]) or np.isnan(qv["host_ra"][0])
    assert qv["no_host_fraction"][0] == pytest.approx(0.75) and qv["n_classifications"][0] == 4


def test_export_unknown_extension(rgz_project, tmp_path):
    code, out = run("export", tmp_path / "hosts.xlsx", "--db", rgz_project.url)
    assert code == 1 and "unknown catalogue format" in out


def test_revision_replaces_earlier_answer_in_consensus(rgz_project, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text(
        "classification_id,source_id,user,host_ra,host_dec,no_host\n"
        "r1,ARG000307k,ann,,,1\n"
        "r2,ARG000307k,ann,150.786,10.8468,0\n"  # ann changed their mind: the latest counts
    )
    rgz_project.import_annotations(csv)
    t = rgz_project.host_catalogue().to_pandas()
    row = t[t.source_id == "ARG000307k"].iloc[0]
    assert row.n_classifications == 1 and row.n_host_votes == 1 and row.no_host_fraction == 0


def test_consensus_on_rgz_matches_published_consensus(rgz_project, rgz):
    """XID v0 against RGZ's own consensus: a host counts as found within 3"."""
    rgz_project.import_annotations(rgz["annotations"])
    t = rgz_project.host_catalogue().to_pandas()
    ref = pd.read_csv(rgz["consensus_hosts"])
    found = 0
    for _, h in ref[ref.has_host == 1].iterrows():
        mine = t[(t.source_id == h.source_id) & t.host_ra.notna()]
        sep = np.hypot((mine.host_ra - h.host_ra) * np.cos(np.radians(h.host_dec)), mine.host_dec - h.host_dec) * 3600
        found += bool((sep < 3).any())
    no_host_sources = set(ref.source_id) - set(ref[ref.has_host == 1].source_id)
    agree_no_host = sum(t[t.source_id == s].host_ra.isna().all() for s in no_host_sources)
    assert found >= 12  # of 14 published hosts
    assert agree_no_host == len(no_host_sources)


def test_answers_flags_expert_queue_and_override_on_both_databases(rgz_project):
    """The page's store calls, on SQLite and PostgreSQL: flags, replayed submissions, expert answers."""
    from xid_app.answers import Mark

    with rgz_project.session() as session, session.begin():
        src = {s.source_id: s.id for s in session.scalars(sa.select(Source))}
        ann = get_or_create_user(session, name="ann")
        boss = set_user(session, name="boss", password="boss-password", role="admin")
        first = save_classification(session, submission_id="s1", user_pk=ann.id,
                                               source_pk=src["ARG000307k"], marks=[], flags={"blend"})
        replay = save_classification(session, submission_id="s1", user_pk=ann.id,
                                                source_pk=src["ARG000307k"], marks=[], flags={"blend"})
        assert first == replay
        save_classification(session, submission_id="e1", user_pk=boss.id, source_pk=src["ARG000307k"],
                                       marks=[Mark(150.786, 10.846833)], origin="expert")
        set_gold(session, source_pk=src["ARG000307k"], gold=True)
    with rgz_project.session() as session:
        (row,) = expert_queue(session)
        assert (row.source_id, row.n_blend, row.decided, row.is_gold) == ("ARG000307k", 1, True, True)
        stats = {s.name: s for s in user_stats(session)}
        assert stats["ann"].sources_done == 1 and stats["ann"].gold_answered == 1
        assert stats["boss"].classifications == 0  # expert answers are not crowd answers
        assert authenticate(session, name="boss", password="boss-password").role == "admin"
        assert authenticate(session, name="boss", password="wrong") is None
    table = rgz_project.host_catalogue()
    row = table[table["source_id"] == "ARG000307k"]
    assert list(row["answer"]) == ["expert"] and list(row["decided_by"]) == ["boss"]
    assert row["n_classifications"][0] == 1  # the crowd's answer still counted, the expert's not
    assert row["blend_fraction"][0] == 1.0 and row["artefact_fraction"][0] == 0.0


def test_consensus_command_scores_methods_against_rgz(rgz_project, rgz):
    rgz_project.import_annotations(rgz["annotations"])
    reference = rgz["consensus_hosts"]
    code, out = run("consensus", "--reference", reference, "--db", rgz_project.url)
    assert code == 0 and "found 12 of 14 host(s), 1 extra, no host agreed on 5 of 5" in out
    code, out = run("consensus", "--method", "dbscan", "--param", "min_samples=3", "--reference", reference,
                    "--db", rgz_project.url)
    assert code == 0 and "found 12 of 14 host(s), 16 extra" in out
    code, out = run("consensus", "--param", "nonsense", "--db", rgz_project.url)
    assert code != 0 and "use key=number" in out
    code, out = run("consensus", "--list", "--db", rgz_project.url)
    assert "reliability_iterations" in out and "dbscan" in out


def test_export_matches_hosts_to_the_catalogue(rgz_project, rgz, tmp_path):
    rgz_project.ingest_catalogue(rgz["allwise"])
    rgz_project.import_annotations(rgz["annotations"])
    code, _ = run("export", tmp_path / "hosts.ecsv", "--db", rgz_project.url)
    assert code == 0
    t = Table.read(tmp_path / "hosts.ecsv")
    row = t[t["source_id"] == "ARG000307k"][0]
    assert row["host_id"] == "J100308.64+105048.6" and 0 < row["host_separation"] < 3
    assert t["host_separation"].unit == "arcsec"
    # the host sits on its AllWISE object; where the clicks put it is kept beside
    allwise = Table.read(rgz["allwise"])
    obj = allwise[allwise["allwise_id"] == row["host_id"]][0]
    assert (row["host_ra"], row["host_dec"]) == (obj["ra"], obj["dec"])
    crowd = SkyCoord(row["crowd_ra"], row["crowd_dec"], unit="deg")
    assert crowd.separation(SkyCoord(obj["ra"], obj["dec"], unit="deg")).arcsec == pytest.approx(row["host_separation"])
    blank = t[t["source_id"] == "ARG00031r7"][0]  # no host: no match
    assert np.ma.is_masked(blank["host_separation"]) and not blank["host_id"]


def test_raw_classifications_export_round_trips_through_import(demo_project, tmp_path):
    from xid_app.project import Project
    from xid_app.ui.session import AnnotationSession

    s = AnnotationSession(demo_project)
    logged_in(s, "reviser")
    s.click(100.0, 120.0)
    s.set_comment("first thought")
    s.submit()
    s.advance()
    s.toggle_flag("unsure")
    s.submit(no_host=True)
    s.back()
    s.clear_marks()
    s.submit(no_host=True)  # a revision: the latest counts, both are exported
    out = tmp_path / "classifications.csv"
    code, text = run("export-classifications", out, "--db", demo_project.url)
    assert code == 0
    t = Table.read(out)
    mine = t[t["user"] == "reviser"]
    assert len(mine) == 3 and list(mine["is_latest"]) == [0, 1, 1]  # A (revised later), B, A again
    assert list(mine["no_host"]) == [0, 1, 1] and mine["comment"][0] == "first thought" and mine["unsure"][1] == 1
    assert mine["band"][0] == "WISE W1" and mine["pixel_x"][0] == 100.0
    code, _ = run("export-classifications", tmp_path / "classifications.fits", "--db", demo_project.url)
    in_fits = Table.read(tmp_path / "classifications.fits")
    for name in ("no_host", "is_latest", "unsure", "artefact"):  # flags survive FITS (stored as logicals)
        assert [bool(v) for v in in_fits[name]] == [bool(v) for v in t[name]], name

    fresh = Project(f"sqlite:///{tmp_path / 'fresh.sqlite'}", settings=demo_project.settings)
    fresh.init()
    fresh.ingest(DEMO_SOURCES)
    report = fresh.import_annotations(out)
    assert report.rejected == []
    a, b = demo_project.host_catalogue(), fresh.host_catalogue()
    assert list(a["source_id"]) == list(b["source_id"])
    # the fresh project has no optical catalogue to place hosts on: compare where the answers put them
    np.testing.assert_allclose(np.ma.filled(a["crowd_ra"], 0), np.ma.filled(b["crowd_ra"], 0), atol=1e-9)


def test_consensus_runs_are_stored_with_method_and_parameters(rgz_project, rgz):
    rgz_project.import_annotations(rgz["annotations"])
    run("consensus", "--db", rgz_project.url)
    run("consensus", "--method", "dbscan", "--param", "eps_arcsec=4", "--db", rgz_project.url)
    code, out = run("consensus", "--runs", "--db", rgz_project.url)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and " xid " in lines[0] and '"eps_arcsec": 4.0' in lines[1]
    from xid_app.store.models import ConsensusHost

    with rgz_project.engine.connect() as conn:
        per_run = dict(conn.execute(sa.select(ConsensusHost.run_pk, sa.func.count()).group_by(ConsensusHost.run_pk)).all())
    assert per_run[1] == 13  # XID's hosts on the 15 RGZ subjects
