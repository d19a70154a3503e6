"""Archive layers: fetched through astroquery from a local stand-in for SkyView and hips2fits (never the
network), cached by survey, position, size and pixels; resumable, polite, offline from the cache, and
every failure a clear message."""

import numpy as np
import pytest
from click.testing import CliRunner

from tests.archive_standin import archive_standin
from xid_app.archives import Archive, ArchiveError, FieldRequest
from xid_app.cli import main
from xid_app.coords import sky_to_pixel
from xid_app.cutouts import read_fits_layer
from xid_app.ingest import ArchiveSurvey
from xid_app.project import Project
from xid_app.store.columns import source_pks

RA, DEC = 228.1132, 45.6740  # J151227+454026, inside the stand-in's real WISE W1 image
HIPS = "hips2fits:CDS/P/allWISE/W1"
SKYVIEW = "skyview:WISE 3.4"


@pytest.fixture
def standin():
    with archive_standin() as s:
        yield s


def archive(standin, tmp_path, **kw) -> Archive:
    return Archive(tmp_path / "cache", skyview_url=standin.skyview_url, hips2fits_url=standin.hips2fits_url,
                   timeout_s=kw.pop("timeout_s", 2.0), **kw)


@pytest.mark.parametrize("survey", [HIPS, SKYVIEW])
def test_a_field_is_fetched_once_then_read_from_the_cache(standin, tmp_path, survey):
    a = archive(standin, tmp_path)
    path = a.fetch(FieldRequest(survey, RA, DEC, 180, 300))
    layer = read_fits_layer(path, band="WISE W1", kind="optical")
    x, y = sky_to_pixel(layer.wcs, RA, DEC)
    ny, nx = layer.shape
    assert abs(x - (nx - 1) / 2) < 2 and abs(y - (ny - 1) / 2) < 2  # centred on the source
    asked = len(standin.requests)
    assert a.fetch(FieldRequest(survey, RA, DEC, 180, 300)) == path and len(standin.requests) == asked
    assert a.fetch(FieldRequest(survey, RA, DEC, 360, 600)) != path  # another size is another field
    offline = archive(standin, tmp_path, offline=True)
    assert offline.fetch(FieldRequest(survey, RA, DEC, 180, 300)) == path
    with pytest.raises(ArchiveError, match=r"not in the cache .* XID is offline"):
        offline.fetch(FieldRequest(survey, RA, DEC + 0.01, 180, 300))


@pytest.mark.parametrize("mode, survey, message", [
    ("slow", HIPS, r"no answer from the archive within 1 s"),
    ("slow", SKYVIEW, r"no answer from the archive within 1 s"),
    ("error-json", HIPS, r"the archive answered HTTP 400: Unknown HiPS no such survey"),
    ("error-html", HIPS, r"the archive answered HTTP 502"),
    ("error-html", SKYVIEW, r"the archive answered HTTP 502 Bad Gateway"),
    ("html-200", HIPS, r"not a FITS image \(it begins '<html>maintenance"),
    ("no-image", SKYVIEW, r"SkyView returned no image"),
])
def test_archive_failures_are_named_and_nothing_is_cached(standin, tmp_path, mode, survey, message):
    standin.mode = mode
    a = archive(standin, tmp_path, timeout_s=1.0)
    request = FieldRequest(survey, RA, DEC, 180, 300)
    with pytest.raises(ArchiveError, match=message) as error:
        a.fetch(request)
    assert f"{survey} at (228.11320, +45.67400)" in str(error.value)
    assert not a.path(request).exists() and not list(a.cache_dir.rglob("*.part"))


def test_unknown_survey_and_unreachable_archive(standin, tmp_path):
    with pytest.raises(ArchiveError, match="does not know this survey"):
        archive(standin, tmp_path).fetch(FieldRequest("skyview:No Such Survey", RA, DEC, 180, 300))
    with pytest.raises(ArchiveError, match="SERVICE:NAME"):
        archive(standin, tmp_path).fetch(FieldRequest("vizier:II/328", RA, DEC, 180, 300))
    dead = Archive(tmp_path / "c2", hips2fits_url="http://127.0.0.1:9/hips2fits", timeout_s=1)
    with pytest.raises(ArchiveError, match="cannot be reached"):
        dead.fetch(FieldRequest(HIPS, RA, DEC, 180, 300))


def test_batches_are_polite_parallel_and_resumable(standin, tmp_path):
    a = archive(standin, tmp_path)
    requests = [FieldRequest(HIPS, RA + k * 0.002, DEC, 120, 100) for k in range(6)]
    standin.mode = "error-html"
    failed = a.fetch_many(requests[:2], workers=3, min_interval_s=0.0)
    assert failed.fetched == 0 and len(failed.failed) == 2
    standin.mode = "ok"
    seen = []
    report = a.fetch_many(requests, workers=3, min_interval_s=0.2, progress=lambda done, total: seen.append((done, total)))
    assert (report.fetched, report.cached, report.failed) == (6, 0, [])
    starts = sorted(t for t, path, _ in standin.requests[-6:])
    assert min(np.diff(starts)) >= 0.18  # at most one request started per 0.2 s
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    again = a.fetch_many(requests + requests[:1])  # resumed: everything cached, duplicates asked once
    assert (again.fetched, again.cached) == (0, 6)


def test_skyview_fields_fetched_in_parallel_all_arrive(standin, tmp_path):
    """astroquery caches SkyView's form page in a file it writes in place; threads fetching at once once
    read each other's half-written copies (CI saw "EOFError: Ran out of input")."""
    requests = [FieldRequest(SKYVIEW, RA + k * 0.001, DEC, 120, 60) for k in range(12)]
    report = archive(standin, tmp_path).fetch_many(requests, workers=4, min_interval_s=0.0)
    assert (report.fetched, report.failed) == (12, [])


def test_archive_layers_from_ingest_to_page_and_xid_fetch(standin, tmp_path, settings, db_url):
    """`xid ingest --archive` gives each source an archive layer; `xid fetch` fills the cache; offline,
    the page reads the cache, and a field not cached is a notice, not a failure."""
    settings = settings.model_copy(update=dict(skyview_url=standin.skyview_url, hips2fits_url=standin.hips2fits_url,
                                               archive_timeout_s=2.0, archive_min_interval_s=0.0,
                                               archive_pixels=120))
    project = Project(db_url, settings=settings)
    project.init()
    (tmp_path / "s.csv").write_text(f"source_id,ra,dec\nJ151227+454026,{RA},{DEC}\nOTHER,{RA + 0.01},{DEC}\n")
    project.ingest(tmp_path / "s.csv", archives=[ArchiveSurvey.parse(f"optical:WISE W1={HIPS}"),
                                                 ArchiveSurvey.parse(f"optical:WISE 3.4 um={SKYVIEW}")])
    layers = project.views.source(int(source_pks(project.engine)[0])).layers
    assert [(la.band, la.form, la.path, la.field_arcsec) for la in layers] == [
        ("WISE W1", "archive", HIPS, 180.0), ("WISE 3.4 um", "archive", SKYVIEW, 180.0)]
    report = project.fetch()
    assert (report.fetched, report.cached, report.failed) == (4, 0, [])

    offline = Project(db_url, settings=settings.model_copy(update=dict(offline=True)))
    view = offline.views.view(int(source_pks(project.engine)[0]))
    assert view.problems == () and view.can_widen
    assert view.view.image.shape[0] * view.view.pixel_scale_arcsec == pytest.approx(180, abs=3)
    wider = offline.views.view(int(source_pks(project.engine)[0]), field_scale=2)
    assert any("not in the cache" in p for p in wider.problems) and wider.view is None

    env = dict(XID_SKYVIEW_URL=standin.skyview_url, XID_HIPS2FITS_URL=standin.hips2fits_url,
               XID_DATA_DIR=str(settings.data_dir), XID_ARCHIVE_PIXELS="120", XID_ARCHIVE_MIN_INTERVAL_S="0")
    result = CliRunner().invoke(main, ["fetch", "--db", db_url], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and "fetched 0 image(s); 4 already cached; 0 failed" in result.output


def test_archive_survey_specs():
    spec = ArchiveSurvey.parse("optical: WISE W1 = hips2fits:CDS/P/allWISE/W1")
    assert (spec.kind, spec.band, spec.survey) == ("optical", "WISE W1", HIPS)
    for bad in ("WISE=hips2fits:x", "optical:W1=vizier:x", "optical:W1=hips2fits:", "radio:=skyview:NVSS"):
        with pytest.raises(ValueError, match="KIND:BAND=SERVICE:SURVEY"):
            ArchiveSurvey.parse(bad)
