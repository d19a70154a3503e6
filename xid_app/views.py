"""Sources ready to draw: a source's layers read and composed into the view the page shows, cached per
process (Next must be instant; the page prepares the next source's view in the background)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

from sqlalchemy import Engine, select
from sqlalchemy.exc import NoResultFound

from .archives import Archive
from .config import Settings
from .cutouts import Cutout, ImageError
from .imaging import Display, View, compose_view
from .layers import Layer, read_layer
from .store.models import Layer as LayerRow
from .store.models import Source


@dataclass(frozen=True)
class SourceInfo:
    """A source and its layers, as stored."""

    pk: int
    source_id: str
    ra: float
    dec: float
    layers: tuple[Layer, ...]
    is_gold: bool = False


@dataclass(frozen=True)
class SourceView:
    """A source ready to draw: its view, the layer the view's pixels belong to, and layers that failed."""

    source: SourceInfo
    view: View | None
    background_layer_pk: int | None
    problems: tuple[str, ...]
    shown_layer_pks: tuple[int, ...] = ()  # the readable layers, in the order Display indices refer to
    field_scale: float = 1.0  # mosaic fields cut this many times their stored size

    @property
    def can_widen(self) -> bool:
        """Whether a larger field can be shown (some layer is cut from a mosaic or fetched)."""
        return any(layer.form != "file" for layer in self.source.layers)


@lru_cache(maxsize=512)
def _cutout(layer: Layer, ra: float, dec: float, field_scale: float, archive: Archive | None, archive_pixels: int,
            max_pixels: int) -> Cutout:
    return read_layer(layer, ra, dec, field_scale=field_scale, archive=archive, archive_pixels=archive_pixels,
                      max_pixels=max_pixels)


@lru_cache(maxsize=512)
def _composed(layers: tuple[Layer, ...], display: Display, ra: float, dec: float, field_scale: float,
              archive: Archive | None, archive_pixels: int, max_pixels: int) -> SourceView:
    cutouts, pks, problems = [], [], []
    for layer in layers:
        try:
            cutouts.append(_cutout(layer, ra, dec, field_scale, archive, archive_pixels, max_pixels))
            pks.append(layer.pk)
        except ImageError as exc:
            problems.append(f"cannot display layer {layer.band}: {exc}")
    if not cutouts:
        return SourceView(None, None, None, tuple(problems) or ("this source has no image layer",), ())  # type: ignore[arg-type]
    # The display refers to layers by their position among the readable ones.
    view = compose_view(cutouts, display)
    return SourceView(None, view, pks[view.background_index], tuple(problems), tuple(pks),  # type: ignore[arg-type]
                      field_scale)


class Views:
    """Sources and their drawable views for one project.

    Parameters
    ----------
    engine : callable
        Returns the project's engine.
    settings : Settings
    archive : callable
        Returns the project's archive (made on first use).
    """

    def __init__(self, engine: Callable[[], Engine], settings: Settings, archive: Callable[[], Archive]):
        self._engine, self.settings, self._archive = engine, settings, archive

    def source(self, source_pk: int) -> SourceInfo:
        """A source and its layers, by primary key."""
        with self._engine().connect() as conn:  # one query: a Next asks for two sources
            rows = conn.execute(
                select(Source.source_id, Source.ra, Source.dec, Source.is_gold, LayerRow.band, LayerRow.kind,
                       LayerRow.path, LayerRow.form, LayerRow.field_arcsec, LayerRow.id)
                .outerjoin(LayerRow, LayerRow.source_pk == Source.id)
                .where(Source.id == source_pk)
                .order_by(LayerRow.position)
            ).all()
        if not rows:
            raise NoResultFound(f"no source with primary key {source_pk}")
        source_id, ra, dec, is_gold = rows[0][:4]
        layers = tuple(Layer(*row[4:]) for row in rows if row[-1] is not None)
        return SourceInfo(source_pk, source_id, ra, dec, layers, bool(is_gold))

    @staticmethod
    def clear_cache() -> None:
        """Forget every image read and view composed in this process (benchmarks measure the cold path)."""
        _cutout.cache_clear()
        _composed.cache_clear()

    def default_display(self) -> Display:
        s = self.settings
        return Display(floor_sigma=s.contour_floor_sigma, step=s.contour_step, max_levels=s.contour_max_levels)

    def view(self, source_pk: int, display: Display | None = None, *, field_scale: float = 1.0) -> SourceView:
        """The drawable view of a source (cached per process); ``field_scale`` > 1 cuts mosaic and archive
        layers that many times wider."""
        info = self.source(source_pk)
        s = self.settings
        composed = _composed(info.layers, display or self.default_display(), info.ra, info.dec, field_scale,
                             self._archive(), s.archive_pixels, s.max_image_pixels)
        return replace(composed, source=info)
