"""Importing a Zooniverse Panoptes classification export: clicks in subject-image pixels → sky."""

import json

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from click.testing import CliRunner

from xid_app.cli import main
from xid_app.coords import celestial_wcs, sky_to_pixel
from xid_app.demo import DEMO_DIR

SUBJECT_PX = 424  # RGZ showed its FIRST cutouts as 424×424 images


def _panoptes_export(demo_dir, path):
    """The demo's real RGZ clicks written as a Panoptes export (point tool in 424 px images, y down)."""
    sources = pd.read_csv(demo_dir / "sources.csv").set_index("source_id")
    clicks = pd.read_csv(demo_dir / "annotations.csv", dtype={"classification_id": str})
    rows = []
    for n, (cid, group) in enumerate(clicks.groupby("classification_id", sort=False)):
        sid = group.source_id.iloc[0]
        header = fits.getheader(demo_dir / sources.loc[sid, "radio_image"])
        wcs = celestial_wcs(header)
        points = group.dropna(subset=["host_ra"])
        x, y = sky_to_pixel(wcs, points.host_ra.to_numpy(), points.host_dec.to_numpy())
        nx, ny = header["NAXIS1"], header["NAXIS2"]
        value = [{"x": (px + 0.5) * SUBJECT_PX / nx, "y": SUBJECT_PX - (py + 0.5) * SUBJECT_PX / ny, "tool": 0,
                  "frame": 0, "details": []} for px, py in zip(x, y)]
        annotations = [{"task": "T0", "task_label": "Click the host galaxy", "value": value}]
        if points.empty:
            annotations.append({"task": "T1", "task_label": "Anything else?", "value": "No host galaxy visible"})
        rows.append(dict(classification_id=cid, user_name=group.user.iloc[0], user_id="", workflow_id="1",
                         created_at="2015-06-01 00:00:00 UTC", subject_ids=str(1000 + n),
                         subject_data=json.dumps({str(1000 + n): {"#source_id": sid}}),
                         annotations=json.dumps(annotations)))
    rows.append(dict(rows[0], classification_id="broken", annotations="{not json"))
    rows.append(dict(rows[0], classification_id="elsewhere", subject_data=json.dumps({"1": {"#source_id": "NOPE"}})))
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture
def rgz_only(project, tmp_path):
    table = pd.read_csv(DEMO_DIR / "sources.csv")
    table = table[table.source_id.str.startswith("ARG0003")]
    table["radio_image"] = [str(DEMO_DIR / p) for p in table.radio_image]
    table.to_csv(tmp_path / "rgz.csv", index=False)
    project.ingest(tmp_path / "rgz.csv", image_roots=[DEMO_DIR])
    return project


def test_panoptes_export_of_real_rgz_clicks_lands_where_the_clicks_were(rgz_only, tmp_path):
    _panoptes_export(DEMO_DIR, tmp_path / "panoptes.csv")
    result = CliRunner().invoke(main, ["import-panoptes", str(tmp_path / "panoptes.csv"),
                                       "--image-size", str(SUBJECT_PX), str(SUBJECT_PX), "--db", rgz_only.url])
    assert result.exit_code == 0, result.output
    assert "imported 210 classification(s) with 247 click(s)" in result.output
    assert "unreadable annotations" in result.output and "not a known source ('NOPE')" in result.output

    _, ann = rgz_only.consensus()[:2]
    original = pd.read_csv(DEMO_DIR / "annotations.csv").dropna(subset=["host_ra"])
    mine = np.column_stack([ann.click_ra, ann.click_dec])
    theirs = original[["host_ra", "host_dec"]].to_numpy()
    # every original click has an imported one within 0.01" (the CSV's 7 decimals)
    for ra, dec in theirs:
        sep = np.hypot((mine[:, 0] - ra) * np.cos(np.radians(dec)), mine[:, 1] - dec) * 3600
        assert sep.min() < 0.01
    n_no_host = np.bincount(ann.click_cls, minlength=len(ann.cls_source)) == 0
    assert n_no_host.sum() == 210 - original.classification_id.nunique()


def test_not_a_panoptes_export(rgz_only, tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["import-panoptes", str(tmp_path / "x.csv"), "--db", rgz_only.url])
    assert result.exit_code == 1 and "not a Panoptes classification export" in result.output


def test_rgz_style_component_clicks_become_the_sources_components(rgz_only, rgz, tmp_path):
    """Radio Galaxy Zoo asks for the radio components first (here point tool 1), then the host (tool 0):
    the real RGZ classifications' first source each, written so, land with their components grouped."""
    for table in (rgz["first"], rgz["islands"]):
        rgz_only.radio_sources.ingest(table)
    components = rgz_only.radio_sources.components().rows
    position = {c: (r, d) for c, r, d in zip(components.ids, components.ra, components.dec)}
    sources = pd.read_csv(DEMO_DIR / "sources.csv").set_index("source_id")
    grouped = pd.read_csv(rgz["grouped"], dtype=str, keep_default_na=False)
    grouped = grouped[grouped.source_id.isin(sources.index[sources.index.str.startswith("ARG0003")])]
    first = grouped[grouped.components != ""].drop_duplicates("classification_id")
    rows, expected = [], {}
    for n, row in enumerate(first.itertuples()):
        header = fits.getheader(DEMO_DIR / sources.loc[row.source_id, "radio_image"])
        names = row.components.split(";")
        value = [_subject_click(header, *position[c], tool=1) for c in names]
        if row.no_host == "0":
            value.append(_subject_click(header, float(row.host_ra), float(row.host_dec), tool=0))
        expected[row.classification_id] = tuple(sorted(names))
        rows.append(dict(classification_id=row.classification_id, user_name=row.user, user_id="", workflow_id="1",
                         created_at="2015-06-01 00:00:00 UTC", subject_ids=str(5000 + n),
                         subject_data=json.dumps({str(5000 + n): {"#source_id": row.source_id}}),
                         annotations=json.dumps([{"task": "T0", "value": value}])))
    off = dict(rows[0], classification_id="off-component")
    off["annotations"] = json.dumps([{"task": "T0", "value": [{"x": 2.0, "y": 2.0, "tool": 1}]}])
    pd.DataFrame([*rows, off]).to_csv(tmp_path / "panoptes.csv", index=False)
    result = CliRunner().invoke(main, ["import-panoptes", str(tmp_path / "panoptes.csv"), "--components-tool", "1",
                                       "--image-size", str(SUBJECT_PX), str(SUBJECT_PX), "--db", rgz_only.url])
    assert result.exit_code == 0, result.output
    assert f"imported {len(rows)} classification(s)" in result.output
    assert "is on no ingested component" in result.output  # the click in the corner
    stored = rgz_only.classifications().to_pandas()
    for cid, components in expected.items():
        assert set(stored.components[stored.classification_id == cid]) == {";".join(components)}, cid


def _subject_click(header, ra: float, dec: float, *, tool: int) -> dict:
    """A Panoptes point-tool click on a 424 px subject image made from the FITS image of ``header``."""
    x, y = sky_to_pixel(celestial_wcs(header), ra, dec)
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    return {"x": float((x + 0.5) * SUBJECT_PX / nx), "y": float(SUBJECT_PX - (y + 0.5) * SUBJECT_PX / ny),
            "tool": tool, "frame": 0, "details": []}


def test_a_panoptes_export_streamed_in_small_chunks_lands_the_same_and_whole(rgz_only, tmp_path, monkeypatch):
    """Read 7 classifications at a time: the same 210 land, bad rows are named by their own line, and a
    failure while storing a later chunk leaves nothing of the earlier ones."""
    import xid_app.panoptes as panoptes
    from xid_app.store import bulk

    _panoptes_export(DEMO_DIR, tmp_path / "panoptes.csv")
    monkeypatch.setattr(panoptes, "CHUNK_ROWS", 7)
    calls = []
    original = bulk.insert_rows

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 40:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr("xid_app.store.classifications.insert_rows", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        rgz_only.import_panoptes(tmp_path / "panoptes.csv", image_size=(SUBJECT_PX, SUBJECT_PX))
    with rgz_only.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM classifications").scalar() == 0
    monkeypatch.setattr("xid_app.store.classifications.insert_rows", original)
    report = rgz_only.import_panoptes(tmp_path / "panoptes.csv", image_size=(SUBJECT_PX, SUBJECT_PX))
    assert (report.classifications_added, report.clicks_added) == (210, 247)
    assert [line for line, _ in report.rejected] == [212, 213]  # the two bad rows, last in the file
    assert len(calls) >= 40  # it did stream: many chunks, each stored as it came
