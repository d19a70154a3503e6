"""XID's settings: one object, read from the environment (prefix ``XID_``) and overridable per call.

Every setting carries a description; ``xid settings`` prints them and a test checks the README lists them.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .cutouts import MAX_IMAGE_PIXELS

DATA_DIR = Path(platformdirs.user_data_dir("xid", appauthor=False))


MIN_SECRET_LENGTH = 32
EXAMPLE_SECRETS = {"change-me", "changeme", "change-me-to-a-long-random-string", "secret", "xid", "password"}


class Settings(BaseSettings):
    """Configuration of one XID installation."""

    model_config = SettingsConfigDict(env_prefix="XID_", extra="forbid")

    data_dir: Path = Field(
        DATA_DIR,
        description="Per-user directory for the default database and the demo database.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/xid. "
            "Default: a SQLite file xid.sqlite in data_dir."
        ),
    )
    sqlite_busy_timeout_ms: int = Field(
        10_000, ge=0, description="How long a SQLite writer waits for a lock before failing (ms)."
    )
    contour_floor_sigma: float = Field(
        4.0, gt=0, description="Lowest radio contour, in units of the image rms."
    )
    contour_step: float = Field(
        2.0**0.5, gt=1, description="Ratio between successive radio contour levels."
    )
    contour_max_levels: int = Field(12, ge=1, description="Most radio contour levels drawn.")
    field_min_arcsec: float = Field(
        180.0, gt=0, description="Smallest field cut from a mosaic or fetched from an archive (arcsec across)."
    )
    field_size_factor: float = Field(
        3.0, gt=0, description="A mosaic or archive field is this many times the source's size across."
    )
    max_image_pixels: int = Field(
        MAX_IMAGE_PIXELS, ge=1, description="Largest image file read whole (pixels; FITS gzipped or not, JPG/PNG), "
        "checked from its header before decompressing. Mosaic tiles are memory-mapped and exempt unless compressed."
    )
    image_roots: list[Path] = Field(
        default_factory=list, description="Folders a source list's image paths may lie in besides the table's own."
    )
    offline: bool = Field(False, description="Use only cached archive images; never contact an archive.")
    archive_cache_dir: Path | None = Field(
        None, description="Where archive images are cached. Default: archive-cache in data_dir."
    )
    archive_pixels: int = Field(300, ge=16, le=4000, description="Pixels across an archive image.")
    archive_timeout_s: float = Field(30.0, gt=0, description="Longest wait for an archive's answer (s).")
    archive_workers: int = Field(3, ge=1, le=16, description="Archive requests made at once by `xid fetch`.")
    archive_min_interval_s: float = Field(
        0.5, ge=0, description="At most one archive request starts per this many seconds (a polite rate)."
    )
    skyview_url: str = Field(
        "https://skyview.gsfc.nasa.gov/current/cgi/basicform.pl", description="SkyView's query form."
    )
    hips2fits_url: str = Field(
        "https://alasky.cds.unistra.fr/hips-image-services/hips2fits", description="The CDS hips2fits service."
    )
    consensus_method: str = Field("xid", description="Consensus method used by export and the page.")
    association_method: str = Field(
        "lgz", description="Rule that decides which components make up a source (`lgz` or `plurality`)."
    )
    target_radius_arcsec: float = Field(
        60.0, gt=0, description="A field is about its nearest component within this of its position (arcsec)."
    )
    host_match_radius_arcsec: float = Field(
        3.0, gt=0, description="The export matches each host to the nearest catalogue object within this (arcsec)."
    )
    retire_min_classifications: int = Field(
        3, ge=1, description="A source retires (leaves the queue) once it has this many classifications..."
    )
    retire_confidence: float = Field(
        0.98, gt=0, le=1,
        description="...and its answer (its best host, or no host) is right with this calibrated probability.",
    )
    retire_max_classifications: int = Field(
        20, ge=1, description="A source retires at this many classifications whether or not they agree."
    )
    snap_radius_arcsec: float = Field(
        3.0, ge=0, description="A click within this of an optical/IR catalogue object marks that object (0: never snap)."
    )
    gold_every: int = Field(
        10, ge=0, description="Show an annotator an undone gold-standard source every this many sources (0: never)."
    )
    gold_match_radius_arcsec: float = Field(
        5.0, gt=0, description="A host within this of the expert's counts as agreeing with a gold answer."
    )
    production: bool = Field(
        False, description="Refuse to serve without logins, or with a cookie secret unset, short or left at an example value."
    )
    login_hours: float = Field(
        12.0, gt=0, le=24 * 90, description="A login lasts this long (hours) unless the user logs out first."
    )
    cookie_secret: str | None = Field(
        None, description="Secret that signs login cookies; set it so logins survive a restart. Default: random per run."
    )
    port: int = Field(5006, ge=0, le=65535, description="Port of `xid serve`.")
    address: str = Field("127.0.0.1", description="Network address `xid serve` listens on.")
    prefix: str = Field("", description="URL path XID is served under behind a proxy, e.g. /xid (JupyterHub: set for you).")
    behind_proxy: bool = Field(
        False, description="Trust X-Forwarded-* headers from a reverse proxy (nginx) for the client's address and scheme."
    )
    allow_websocket_origin: list[str] = Field(
        default_factory=list,
        description="Extra host[:port] origins allowed to open the page's websocket (behind a proxy).",
    )

    def security_problems(self, *, login_required: bool) -> list[str]:
        """What makes serving this configuration unsafe for a team on a network (empty if nothing)."""
        problems = []
        secret = self.cookie_secret or ""
        if not secret:
            problems.append("XID_COOKIE_SECRET is not set: logins are signed with a key made up at each start")
        elif len(secret) < MIN_SECRET_LENGTH:
            problems.append(f"XID_COOKIE_SECRET is shorter than {MIN_SECRET_LENGTH} characters")
        elif secret.lower() in EXAMPLE_SECRETS or len(set(secret)) < 8:
            problems.append("XID_COOKIE_SECRET is left at an example value; make one with "
                            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        if not login_required:
            problems.append("no user has a password, so anyone who reaches the page can annotate under any name "
                            "(`xid users add NAME`)")
        return problems

    def resolved_database_url(self) -> str:
        """The database URL in force: ``database_url`` or the default SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'xid.sqlite'}"

    def demo_database_url(self) -> str:
        """The demo's own SQLite database, kept apart from the user's real one."""
        return f"sqlite:///{self.data_dir / 'demo.sqlite'}"
