"""The block-wise FITS writer: the same file astropy's writer makes, on the real RGZ host catalogue and on
the tables it hands back to astropy."""

import numpy as np
import pytest
from astropy.table import Column, MaskedColumn, Table

from xid_app.fits_table import write_fits_table


def _same_file_as_astropy(table: Table, tmp_path, monkeypatch, block_rows: int = 4) -> bytes:
    monkeypatch.setattr("xid_app.fits_table.BLOCK_ROWS", block_rows)  # several blocks, a partial last one
    table.write(tmp_path / "astropy.fits", format="fits", overwrite=True)
    write_fits_table(table, tmp_path / "xid.fits")
    ours = (tmp_path / "xid.fits").read_bytes()
    assert ours == (tmp_path / "astropy.fits").read_bytes()
    return ours


def test_the_real_host_catalogue_is_written_byte_for_byte_as_astropy_writes_it(project, rgz, tmp_path, monkeypatch):
    project.ingest(rgz["sources"])
    project.import_annotations(rgz["annotations"])
    table = project.host_catalogue()
    table.meta["DATE"] = "2026-12-07T00:00:00"
    assert len(table) > 4 and np.ma.getmaskarray(table["host_scatter"]).any()  # masked floats among them
    _same_file_as_astropy(table, tmp_path, monkeypatch)
    back = Table.read(tmp_path / "xid.fits")
    assert back["host_ra"].unit == "deg" and back["source_id"].description
    assert list(back["source_id"]) == list(table["source_id"])


def test_an_empty_table_and_one_of_a_single_row(tmp_path, monkeypatch):
    table = Table({"id": Column(np.array(["a"]), description="name"), "x": MaskedColumn([np.nan], mask=[True])})
    _same_file_as_astropy(table, tmp_path, monkeypatch)
    _same_file_as_astropy(table[:0], tmp_path, monkeypatch)


def test_text_that_is_not_ascii_is_refused_as_astropy_refuses_it(tmp_path):
    table = Table({"text": ["Ångström", "b"]})
    with pytest.raises(UnicodeEncodeError):
        table.write(tmp_path / "astropy.fits", format="fits")
    with pytest.raises(UnicodeEncodeError):
        write_fits_table(table, tmp_path / "out.fits")
    assert not list(tmp_path.glob("*out.fits*"))


@pytest.mark.parametrize("column", [
    Column(np.array([0, 1, 1], dtype="i1"), name="no_host"),    # int8: astropy writes logicals
    Column(np.array([0, 65535, 7], dtype="u2"), name="count"),   # unsigned: stored with an offset
    MaskedColumn([1, 2], mask=[False, False], name="n"),           # masked integers, none masked
    Column(["a ", "b"], name="padded"),                            # trailing blanks: astropy makes them NULs
    MaskedColumn([1, 2], mask=[True, False], name="count"),        # masked integers: astropy's null value
    Column([True, False], name="flag"),                            # FITS logicals
])
def test_columns_astropy_stores_converted_come_out_as_astropy_writes_them(column, tmp_path):
    table = Table([column])
    write_fits_table(table, tmp_path / "out.fits")
    table.write(tmp_path / "astropy.fits", format="fits")
    assert (tmp_path / "out.fits").read_bytes() == (tmp_path / "astropy.fits").read_bytes()
    assert not list(tmp_path.glob(".*partial"))


def test_an_existing_file_is_kept_unless_overwrite(tmp_path):
    (tmp_path / "out.fits").write_bytes(b"kept")
    with pytest.raises(OSError, match="exists"):
        write_fits_table(Table({"x": [1.0]}), tmp_path / "out.fits", overwrite=False)
    assert (tmp_path / "out.fits").read_bytes() == b"kept"
