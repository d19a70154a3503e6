"""XID's schema: SQLAlchemy 2 models. Every change here comes with an Alembic migration in ``migrations/``.

Sky positions are stored as ICRS degrees; the pixel a click was made on is kept beside it, never instead.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .. import limits

# Named constraints so that migrations can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def on_the_sky() -> tuple[CheckConstraint, CheckConstraint]:
    """The database's own check that a table's ``ra``, ``dec`` are ICRS degrees on the sky."""
    return (CheckConstraint("ra >= 0 AND ra < 360", name="ra_range"),
            CheckConstraint("dec >= -90 AND dec <= 90", name="dec_range"))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A radio source to cross-identify."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(limits.SOURCE_ID), unique=True)
    ra: Mapped[float] = mapped_column(Float, doc="ICRS right ascension, degrees")
    dec: Mapped[float] = mapped_column(Float, doc="ICRS declination, degrees")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    is_gold: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false(),
        doc="Gold-standard source: its expert answer is the reference annotators are scored against",
    )

    layers: Mapped[list[Layer]] = relationship(back_populates="source", order_by="Layer.position")

    __table_args__ = on_the_sky()


class Layer(Base):
    """One image of a source: a radio or optical/IR band, read from a file, cut from a mosaic tile, or
    fetched from an archive."""

    __tablename__ = "layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_pk: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    band: Mapped[str] = mapped_column(String(limits.BAND))
    kind: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text, doc="Image file, mosaic tile, or archive survey (SERVICE:SURVEY)")
    position: Mapped[int] = mapped_column(Integer, default=0, doc="Order of the layer among its source's")
    form: Mapped[str] = mapped_column(String(10), default="file", server_default="file",
                                      doc="file: the whole image; mosaic: cut from the tile; archive: fetched")
    field_arcsec: Mapped[float | None] = mapped_column(Float, doc="Side of the field cut or fetched (mosaic, archive)")

    source: Mapped[Source] = relationship(back_populates="layers")

    __table_args__ = (
        UniqueConstraint("source_pk", "band", name="uq_layers_source_band"),
        CheckConstraint("kind IN ('radio', 'optical')", name="kind"),
        CheckConstraint("form IN ('file', 'mosaic', 'archive')", name="form"),
    )


class User(Base):
    """An annotator or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(limits.USER_NAME), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="annotator")
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (CheckConstraint("role IN ('annotator', 'admin')", name="role"),)


class Login(Base):
    """One login of a user (a browser holding its cookie). The cookie carries a random token; only the token's
    SHA-256 is stored, so a copy of the database opens no session. Logging out ends the login for every
    server process at once."""

    __tablename__ = "logins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, doc="When the user logged out or an admin ended the login"
    )


class Classification(Base):
    """One submission by one user for one source. A later submission by the same user for the same source
    is a new revision; the latest counts and history is kept."""

    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(
        String(limits.CLASSIFICATION_ID), unique=True, doc="Client-generated id: a replayed submission lands once"
    )
    source_pk: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    no_host: Mapped[bool] = mapped_column(Boolean, default=False)
    artefact: Mapped[bool] = mapped_column(Boolean, default=False)
    blend: Mapped[bool] = mapped_column(Boolean, default=False)
    too_zoomed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    unsure: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(
        String(20), default="app",
        doc="'app' (the page), 'import' (interchange CSV) or 'expert' (an admin's final answer)",
    )

    hosts: Mapped[list[HostMark]] = relationship(back_populates="classification", cascade="all, delete-orphan")
    grouped: Mapped[list[AnswerComponent]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_classifications_source_user", "source_pk", "user_pk", "created_at"),
        Index("ix_classifications_origin", "origin"),  # expert answers are few among millions
        Index("ix_classifications_user_source", "user_pk", "source_pk"),  # a user's done sources, on every Next
    )


CROWD = Classification.origin != "expert"  # annotators' answers, as opposed to admins' final answers


class HostMark(Base):
    """A host marked in a classification."""

    __tablename__ = "host_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    classification_pk: Mapped[int] = mapped_column(ForeignKey("classifications.id", ondelete="CASCADE"), index=True)
    ra: Mapped[float] = mapped_column(Float, doc="ICRS right ascension, degrees")
    dec: Mapped[float] = mapped_column(Float, doc="ICRS declination, degrees")
    layer_pk: Mapped[int | None] = mapped_column(ForeignKey("layers.id", ondelete="SET NULL"), nullable=True)
    pixel_x: Mapped[float | None] = mapped_column(Float, nullable=True, doc="0-based column clicked on the layer")
    pixel_y: Mapped[float | None] = mapped_column(Float, nullable=True, doc="0-based row clicked on the layer")
    catalogue_id: Mapped[str | None] = mapped_column(String(limits.CATALOGUE_ID), nullable=True)
    click_ra: Mapped[float | None] = mapped_column(
        Float, nullable=True, doc="Where the click was before snapping to a catalogue object (ICRS degrees)"
    )
    click_dec: Mapped[float | None] = mapped_column(Float, nullable=True)
    group_number: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0",
        doc="The radio source (component group) of its classification this is the host of, from 0")

    classification: Mapped[Classification] = relationship(back_populates="hosts")

    __table_args__ = on_the_sky()


class Component(Base):
    """A radio component, as a source finder catalogued it (flux and shape may be blank)."""

    __tablename__ = "components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_id: Mapped[str] = mapped_column(String(limits.COMPONENT_ID), unique=True)
    ra: Mapped[float] = mapped_column(Float, doc="ICRS right ascension, degrees")
    dec: Mapped[float] = mapped_column(Float, doc="ICRS declination, degrees")
    peak_flux: Mapped[float | None] = mapped_column(Float, nullable=True, doc="Peak flux density, mJy/beam")
    total_flux: Mapped[float | None] = mapped_column(Float, nullable=True, doc="Integrated flux density, mJy")
    major: Mapped[float | None] = mapped_column(Float, nullable=True, doc="FWHM major axis, arcsec")
    minor: Mapped[float | None] = mapped_column(Float, nullable=True, doc="FWHM minor axis, arcsec")
    pa: Mapped[float | None] = mapped_column(Float, nullable=True, doc="Position angle, degrees east of north")

    __table_args__ = (
        Index("ix_components_dec_ra", "dec", "ra"),
        *on_the_sky(),
    )


class AnswerComponent(Base):
    """A component an answer grouped into one of its radio sources (a component is in one group at most)."""

    __tablename__ = "answer_components"

    classification_pk: Mapped[int] = mapped_column(
        ForeignKey("classifications.id", ondelete="CASCADE"), primary_key=True)
    component_pk: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"), primary_key=True)
    group_number: Mapped[int] = mapped_column(Integer, doc="The answer's radio source, from 0")

    component: Mapped[Component] = relationship(lazy="joined")


class CatalogueObject(Base):
    """An object of the optical/IR catalogue that hosts are matched to."""

    __tablename__ = "catalogue_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_id: Mapped[str] = mapped_column(String(limits.CATALOGUE_ID), unique=True)
    ra: Mapped[float] = mapped_column(Float, doc="ICRS right ascension, degrees")
    dec: Mapped[float] = mapped_column(Float, doc="ICRS declination, degrees")
    # JSON text, not the JSON type: ingest serialises ten million objects in one vectorised call, where the
    # JSON type would serialise each row again in Python (about a minute at that size)
    properties: Mapped[str | None] = mapped_column(Text, doc="Magnitudes and other numbers, as a JSON object")

    __table_args__ = (
        Index("ix_catalogue_objects_dec_ra", "dec", "ra"),
        *on_the_sky(),
    )


class ConsensusRun(Base):
    """One run of a consensus method (``xid consensus``), kept so methods and parameters can be compared."""

    __tablename__ = "consensus_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict] = mapped_column(JSON, doc="The method's parameters")
    xid_version: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    n_sources: Mapped[int] = mapped_column(Integer, doc="Classified sources")
    n_hosts: Mapped[int] = mapped_column(Integer)
    n_classifications: Mapped[int] = mapped_column(Integer)


class ConsensusHost(Base):
    """A host found by a consensus run."""

    __tablename__ = "consensus_hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("consensus_runs.id", ondelete="CASCADE"), index=True)
    source_pk: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    ra: Mapped[float] = mapped_column(Float, doc="ICRS right ascension, degrees")
    dec: Mapped[float] = mapped_column(Float, doc="ICRS declination, degrees")
    votes: Mapped[int] = mapped_column(Integer)
    level: Mapped[float] = mapped_column(Float, doc="Votes over the source's classifications")
    scatter_arcsec: Mapped[float] = mapped_column(Float)


class DatabaseIdentity(Base):
    """One row, written when the database is created: tells a recreated database at the same URL apart
    from the one a cache was made from."""

    __tablename__ = "database_identity"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, doc="Random hex, made by the first migration to run")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
