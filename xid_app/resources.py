"""Where an installation's own files live: inside the wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent


def _installed_or_checkout(wheel_name: str, checkout_name: str, marker: str) -> Path:
    for candidate in (PACKAGE_DIR / wheel_name, PACKAGE_DIR.parent / checkout_name):
        if (candidate / marker).is_file():
            return candidate
    raise FileNotFoundError(f"XID's {checkout_name}/ directory is missing from this installation")


def migrations_dir() -> Path:
    """Alembic's script directory."""
    return _installed_or_checkout("_migrations", "migrations", "env.py")


def static_dir() -> Path:
    """CSS and other files served with the page."""
    return _installed_or_checkout("_static", "static", "xid.css")
