"""A source's image layers: where each comes from (an image file, a mosaic tile, an archive survey) and
reading one into a :class:`~xid_app.cutouts.Cutout` for a field on the sky."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .archives import Archive, FieldRequest
from .cutouts import MAX_IMAGE_PIXELS, Cutout, ImageError, LayerKind, read_fits_layer, read_layer_file
from .mosaics import cut

LayerForm = Literal["file", "mosaic", "archive"]
LAYER_FORMS: tuple[LayerForm, ...] = ("file", "mosaic", "archive")


@dataclass(frozen=True)
class Layer:
    """One image layer of a source.

    Attributes
    ----------
    band : str
        Survey or band shown to the user, e.g. ``"FIRST 1.4 GHz"``.
    kind : {"radio", "optical"}
        Radio layers get contours; optical/IR layers are backgrounds.
    path : str
        The image file (``file``), the mosaic tile (``mosaic``) or ``SERVICE:SURVEY`` (``archive``).
    form : {"file", "mosaic", "archive"}
        The whole image; a field cut from the tile; a field fetched from the archive.
    field_arcsec : float or None
        Side of the field cut or fetched (mosaic, archive).
    pk : int or None
        Its key in the database, once stored.
    """

    band: str
    kind: LayerKind
    path: str
    form: LayerForm = "file"
    field_arcsec: float | None = None
    pk: int | None = None


def read_layer(layer: Layer, ra: float, dec: float, *, field_scale: float = 1.0, archive: Archive | None = None,
               archive_pixels: int = 300, max_pixels: int = MAX_IMAGE_PIXELS) -> Cutout:
    """A layer's image for the source at ``(ra, dec)``; mosaic and archive fields are ``field_scale`` times
    their stored size (a user who finds the field too small asks for a larger one).

    Raises
    ------
    ImageError
        If the image cannot be read, fetched or cut (the message names the file and the reason).
    """
    side = (layer.field_arcsec or 0) * field_scale
    if layer.form == "mosaic":
        return cut(layer.path, ra, dec, side, band=layer.band, kind=layer.kind)
    if layer.form == "archive":
        if archive is None:
            raise ImageError(f"{layer.path}: archive layers need an archive configuration")
        request = FieldRequest(layer.path, ra, dec, side, int(round(archive_pixels * field_scale)))
        return read_fits_layer(archive.fetch(request), band=layer.band, kind=layer.kind, max_pixels=max_pixels)
    return read_layer_file(layer.path, band=layer.band, kind=layer.kind, max_pixels=max_pixels)
