"""Library settings: where the shared data lives, where derived data is cached, online access.

Values come from environment variables once, when first asked for, and are validated; code
that needs one calls `get_settings()`. Analysis functions never read settings: callers pass values.

=====================  ==============================================  ==========================
variable               meaning                                         default
=====================  ==============================================  ==========================
GOMRAC_DATA_DIR        the read-only real data (boundaries, OSM, ...)  ``<repo>/../shared/data``
GOMRAC_CACHE_DIR       derived data: graphs, matrices, the database    ``<repo>/data``
GOMRAC_OFFLINE         ``1`` forbids Overpass downloads                ``0``
GOMRAC_OVERPASS_URL    Overpass endpoint for osmnx                     osmnx's default
=====================  ==============================================  ==========================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gomrac.analysis.errors import DataNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Validated library settings."""

    data_dir: Path
    cache_dir: Path
    offline: bool
    overpass_url: str | None

    @property
    def osm_cache_dir(self) -> Path:
        """Folder for derived road graphs and features (``<cache>/osm``)."""
        return self.cache_dir / "osm"

    def require_data_dir(self) -> Path:
        """Return `data_dir`, raising a clear error when it does not exist."""
        if not self.data_dir.is_dir():
            msg = (
                f"data directory {self.data_dir} not found; set GOMRAC_DATA_DIR to the folder that "
                "holds boundaries/, osm/, population/ and facilities/ (by default ../shared/data)."
            )
            raise DataNotFoundError(msg)
        return self.data_dir


def _flag(value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    msg = f"GOMRAC_OFFLINE must be 0 or 1, got {value!r}"
    raise ValueError(msg)


@cache
def get_settings() -> Settings:
    """Read and validate the settings from the environment (once per process)."""
    data_dir = Path(os.environ.get("GOMRAC_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
    cache_dir = Path(os.environ.get("GOMRAC_CACHE_DIR", REPO_ROOT / "data"))
    return Settings(
        data_dir=data_dir.expanduser().resolve(),
        cache_dir=cache_dir.expanduser().resolve(),
        offline=_flag(os.environ.get("GOMRAC_OFFLINE")),
        overpass_url=os.environ.get("GOMRAC_OVERPASS_URL") or None,
    )
