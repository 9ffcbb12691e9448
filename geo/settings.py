"""gomrac's one settings object: data and cache folders, online access, database, planning and web.

`Settings` is read from ``GOMRAC_*`` environment variables (or a ``.env`` file) when it is
constructed, and validated; it is constructed once, at an edge (the command line, the web app, a
notebook), and passed in to every function that needs a value from it. No other module reads the
environment. Analysis functions never see settings: the planning layer passes them values.

=============================  ==============================================  =====================
variable                       meaning                                         default
=============================  ==============================================  =====================
GOMRAC_DATA_DIR                the read-only real data (boundaries, OSM, ...)  ``../shared/data``
GOMRAC_CACHE_DIR               derived data: graphs, matrices, the database    ``<repo>/data``
GOMRAC_OFFLINE                 ``1`` forbids Overpass downloads                ``0``
GOMRAC_OVERPASS_URL            Overpass endpoint for osmnx                     osmnx's default
GOMRAC_DATABASE_URL            SQLAlchemy URL (SpatiaLite file or PostGIS)     ``<cache>/...sqlite``
GOMRAC_TIME_LIMIT_S            seconds per optimisation (points, routes, ...)  30
GOMRAC_SEED                    random seed of the searches                     0
GOMRAC_MEDIA_DIR               where uploaded photos are stored                ``<cache>/media``
GOMRAC_PLANS_DIR               plan runs' files (shared by every job worker)   ``<cache>/plans``
GOMRAC_PUBLISH_PHOTOS          serve uploaded photos at ``/open311/v2/media``  true
GOMRAC_MAX_PHOTO_BYTES         largest accepted photo                          5 MiB
GOMRAC_ALLOWED_PHOTO_TYPES     JSON list of accepted photo types               jpeg, png, webp
GOMRAC_MAX_BODY_BYTES          largest request body (413 above)                8 MiB
GOMRAC_DUPLICATE_DISTANCE_M    radius for duplicate reports, metres            50
GOMRAC_DUPLICATE_WINDOW_H      time window for duplicate reports, hours        72
GOMRAC_JURISDICTION_ID         Open311 jurisdiction                            ``haiphong.gov.vn``
GOMRAC_OPEN311_MAX_PAGE_SIZE   cap on ``page_size`` of GET requests            1000
GOMRAC_WARD_HOTLINE            the ward's hotline, shown to residents          unset
GOMRAC_OPEN311_PAGE_SIZE       ``page_size`` of GET requests when not given    50
GOMRAC_PUBLISH_REPORTS         ``immediately`` or ``after_review`` by staff    ``after_review``
GOMRAC_KEEP_ORIGINAL_PHOTOS    keep the unstripped photo for staff             false
GOMRAC_POST_LIMIT              reports per client address per window           10
GOMRAC_POST_LIMIT_PER_DEVICE   reports per ``device_id`` per window            10
GOMRAC_POST_LIMIT_WINDOW_S     the posting limits' window, seconds             600
GOMRAC_BLOCKED_CLIENTS         JSON list of refused addresses or networks      ``[]``
GOMRAC_BLOCKED_DEVICES         JSON list of refused ``device_id`` values       ``[]``
GOMRAC_CORS_ORIGINS            JSON list of origins a browser may post from    ``[]``
GOMRAC_TOKEN_LIFETIME_H        hours a staff sign-in token stays valid         12
GOMRAC_SIGN_IN_MAX_FAILURES    failed sign-ins per account before lockout      5
GOMRAC_SIGN_IN_MAX_PER_CLIENT  failed sign-ins per client address              20
GOMRAC_SIGN_IN_LOCKOUT_MIN     lockout window, minutes                         15
=============================  ==============================================  =====================

``GOMRAC_PUBLISH_PHOTOS`` exists because residents' photos may show people's faces, house
numbers or number plates: personal data of people who did not choose to be in a public report.
Set to false, uploaded photos are still stored for the ward office but not published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gomrac.analysis.errors import ConfigError, DataNotFoundError

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
PHOTO_TYPES: Final = ("image/jpeg", "image/png", "image/webp")
_MIB: Final = 1024 * 1024
#: Seconds per optimisation unless the settings or a caller say otherwise (``GOMRAC_TIME_LIMIT_S``).
DEFAULT_TIME_LIMIT_S: Final = 30.0


class Settings(BaseSettings):
    """Validated settings; every field can be set as ``GOMRAC_<NAME>`` (see the module's table).

    Examples
    --------
    >>> s = Settings(data_dir="/srv/gomrac/data", cache_dir="/srv/gomrac/cache")
    >>> s.osm_cache_dir.as_posix(), s.database_url
    ('/srv/gomrac/cache/osm', 'sqlite:////srv/gomrac/cache/gomrac.sqlite')
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_prefix="GOMRAC_", extra="ignore", frozen=True
    )

    data_dir: Path = REPO_ROOT.parent / "shared" / "data"
    cache_dir: Path = REPO_ROOT / "data"
    offline: bool = False
    overpass_url: str | None = None
    database_url: str = ""  # empty: the SpatiaLite file in the cache folder

    time_limit_s: float = Field(default=DEFAULT_TIME_LIMIT_S, gt=0)
    seed: int = Field(default=0, ge=0)

    media_dir: Path | None = None  # None: ``<cache_dir>/media``
    plans_dir: Path | None = None  # None: ``<cache_dir>/plans``
    publish_photos: bool = True  # photos may show faces: see the module docstring
    max_photo_bytes: int = Field(default=5 * _MIB, gt=0)
    allowed_photo_types: tuple[str, ...] = PHOTO_TYPES
    max_body_bytes: int = Field(default=8 * _MIB, gt=0)
    duplicate_distance_m: float = Field(default=50.0, ge=0)
    duplicate_window_h: float = Field(default=72.0, ge=0)
    jurisdiction_id: str = "haiphong.gov.vn"
    open311_max_page_size: int = Field(default=1000, gt=0)
    ward_hotline: str | None = None  # the ward's hotline number, on the residents' pages
    open311_page_size: int = Field(default=50, gt=0)
    publish_reports: Literal["immediately", "after_review"] = "after_review"
    keep_original_photos: bool = False
    post_limit: int = Field(default=10, ge=0)  # 0: no limit
    post_limit_per_device: int = Field(default=10, ge=0)
    post_limit_window_s: float = Field(default=600.0, gt=0)
    blocked_clients: tuple[str, ...] = ()
    blocked_devices: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    token_lifetime_h: float = Field(default=12.0, gt=0)
    sign_in_max_failures: int = Field(default=5, gt=0)
    sign_in_max_per_client: int = Field(default=20, gt=0)
    sign_in_lockout_min: float = Field(default=15.0, gt=0)

    @field_validator("data_dir", "cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("overpass_url")
    @classmethod
    def _url_or_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("allowed_photo_types")
    @classmethod
    def _known_photo_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(PHOTO_TYPES)
        if unknown:
            msg = f"photo types {sorted(unknown)} cannot be checked; choose from {PHOTO_TYPES}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _derived_paths(self) -> Settings:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.cache_dir / 'gomrac.sqlite'}"
            )
        return self

    @property
    def osm_cache_dir(self) -> Path:
        """Folder for derived road graphs and features (``<cache>/osm``)."""
        return self.cache_dir / "osm"

    @property
    def media_path(self) -> Path:
        """Folder of uploaded photos (``media_dir``, by default ``<cache>/media``)."""
        return self.media_dir if self.media_dir is not None else self.cache_dir / "media"

    @property
    def plans_path(self) -> Path:
        """Folder of the plan runs' files (``plans_dir``, by default ``<cache>/plans``)."""
        return self.plans_dir if self.plans_dir is not None else self.cache_dir / "plans"

    def require_data_dir(self) -> Path:
        """Return `data_dir`, raising a clear error when it does not exist."""
        if not self.data_dir.is_dir():
            msg = (
                f"data directory {self.data_dir} not found; set GOMRAC_DATA_DIR to the folder that "
                "holds boundaries/, osm/, population/ and facilities/ (by default ../shared/data)."
            )
            raise DataNotFoundError(msg)
        return self.data_dir


def settings_from_env(**overrides: object) -> Settings:
    """Read the settings from the ``GOMRAC_*`` environment, with `overrides` taking precedence.

    Raises
    ------
    ConfigError
        One line per invalid field, naming the variable, never echoing its value (a rejected
        secret must not reach a log).
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"GOMRAC_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigError(f"invalid settings: {problems}") from None
