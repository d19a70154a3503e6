"""The optical/IR catalogue: ingest with magnitudes, idempotence, bad rows, and look-ups that stay exact
on the sphere."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xid_app.cli import main
from xid_app.optical import OpticalCatalogue, read_optical_catalogue
from xid_app.store.catalogue_objects import catalogue_properties
from xid_app.tables import IngestError


@pytest.fixture
def allwise(shared_data, tmp_path):
    """The real AllWISE objects near the RGZ subjects, with made-up W1/W2 magnitudes and a colour."""
    frame = pd.read_csv(shared_data / "rgz_first/allwise_candidates.csv")
    rng = np.random.default_rng(0)
    frame["w1mag"] = rng.uniform(12, 17, len(frame)).round(3)
    frame["w2mag"] = frame.w1mag - rng.uniform(0, 1, len(frame)).round(3)
    frame.loc[3, "w2mag"] = np.nan
    frame["w1_snr"] = 20.0
    path = tmp_path / "allwise.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_ingest_keeps_magnitudes_and_is_idempotent(project, allwise):
    path, frame = allwise
    result = CliRunner().invoke(main, ["ingest-catalogue", str(path), "--db", project.url], catch_exceptions=False)
    assert result.exit_code == 0 and f"ingested {len(frame)} catalogue object(s)" in result.output
    again = project.ingest_catalogue(path)
    assert (again.added, again.unchanged) == (0, len(frame))
    first = frame.iloc[0]
    assert catalogue_properties(project.engine, first.allwise_id) == {
        "w1mag": pytest.approx(first.w1mag), "w2mag": pytest.approx(first.w2mag)}  # not w1_snr: no mag in name
    assert catalogue_properties(project.engine, frame.allwise_id[3]) == {"w1mag": pytest.approx(frame.w1mag[3])}
    assert catalogue_properties(project.engine, "no such object") == {}
    index = project.optical_catalogue()
    assert len(index) == len(frame) and index.get(f"  {first.allwise_id} ").object_id == first.allwise_id


def test_chosen_columns_to_keep(allwise):
    path, _ = allwise
    rows = read_optical_catalogue(path, keep=["w1_snr"])
    assert rows.properties[0] == '{"w1_snr":20.0}'
    with pytest.raises(IngestError, match="no column 'w9mag' to keep"):
        read_optical_catalogue(path, keep=["w9mag"])


def test_bad_catalogue_rows_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,ra,dec\nA,10,10\nA,11,11\n,12,12\nB,400,0\nC,nan,1\n")
    with pytest.raises(IngestError) as error:
        read_optical_catalogue(path)
    text = str(error.value)
    assert "duplicate id 'A'" in text and "row 4: empty id" in text
    assert "row 5 (B): position off the sky (400.0, 0.0)" in text and "row 6 (C)" in text


def test_index_matches_brute_force_on_the_sphere_poles_and_ra_wrap_included():
    rng = np.random.default_rng(4)
    n = 200_000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    ra[:3], dec[:3] = [0.0001, 359.9999, 45.0], [0.0, 0.0, 89.9999]
    index = OpticalCatalogue([f"O{i}" for i in range(n)], ra, dec)
    probes_ra = np.r_[ra[:50] + 0.3 / 3600, 359.99995, 200.0]
    probes_dec = np.r_[dec[:50], 0.0, 89.99995]
    ids, separation = index.match(probes_ra, probes_dec, 5.0)
    p = np.radians(np.c_[probes_ra, probes_dec])
    o = np.radians(np.c_[ra, dec])
    for k in range(len(probes_ra)):
        h = (np.sin((o[:, 1] - p[k, 1]) / 2) ** 2
             + np.cos(p[k, 1]) * np.cos(o[:, 1]) * np.sin((o[:, 0] - p[k, 0]) / 2) ** 2)  # haversine
        d = np.degrees(2 * np.arcsin(np.sqrt(h))) * 3600
        j = int(np.argmin(d))
        if d[j] <= 5.0:
            assert ids[k] == f"O{j}" and separation[k] == pytest.approx(d[j], abs=1e-3)
        else:
            assert ids[k] == ""
    assert index.nearest(359.99995, 0.0, 5.0).object_id in ("O0", "O1")  # across RA 0
    assert index.get("O17").ra == ra[17] and index.get("nope") is None
