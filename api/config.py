"""API settings, read from ``GOMRAC_*`` environment variables (or a ``.env`` file).

========================  ==================================================  =====================
variable                  meaning                                             default
========================  ==================================================  =====================
GOMRAC_DATABASE_URL       SQLAlchemy URL (SpatiaLite file or PostGIS)         geo.db.database_url()
GOMRAC_DATA_DIR           read-only data (boundaries/ for the city check)     ``geo.settings``
GOMRAC_MEDIA_DIR          where uploaded photos are stored                    ``<cache_dir>/media``
GOMRAC_PUBLISH_PHOTOS     serve uploaded photos at ``/open311/v2/media/…``    true
                          and give their URL as ``media_url``
GOMRAC_MAX_PHOTO_BYTES    largest accepted photo                              5 MiB
GOMRAC_ALLOWED_PHOTO_TYPES  JSON list of accepted photo types                 jpeg, png, webp
GOMRAC_MAX_BODY_BYTES     largest request body (413 above)                    8 MiB
GOMRAC_DUPLICATE_DISTANCE_M  radius for duplicate reports, metres             50
GOMRAC_DUPLICATE_WINDOW_H    time window for duplicate reports, hours         72
GOMRAC_JURISDICTION_ID    Open311 jurisdiction                                ``haiphong.gov.vn``
GOMRAC_STAFF_TOKEN        shared secret for the staff endpoints; unset =      unset
                          staff endpoints refuse every request
GOMRAC_OPEN311_MAX_PAGE_SIZE  cap on ``page_size`` of GET requests            1000
========================  ==================================================  =====================

The staff token is a stop-gap until user accounts exist: anyone holding it can change
reports, so keep it out of the repository and rotate it like a password.

``GOMRAC_PUBLISH_PHOTOS`` exists because residents' photos may show people's faces, house
numbers or number plates: personal data of people who did not choose to be in a public report.
Set to false, uploaded photos are still stored for the ward office but not published:
``media_url`` stays null for them and their URL answers 404 (until photos are reviewed or
blurred, say). Switching it off hides every photo at once; copies already downloaded stay out.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gomrac.geo.db import database_url
from gomrac.geo.settings import get_settings

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
_MIB = 1024 * 1024


class Settings(BaseSettings):
    """Validated API settings; every field can be set as ``GOMRAC_<NAME>``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_prefix="GOMRAC_", extra="ignore", frozen=True
    )

    DATABASE_URL: str = Field(default_factory=database_url)
    DATA_DIR: Path = Field(default_factory=lambda: get_settings().data_dir)
    MEDIA_DIR: Path = Field(default_factory=lambda: get_settings().cache_dir / "media")
    PUBLISH_PHOTOS: bool = True  # photos may show faces: see the module docstring
    MAX_PHOTO_BYTES: int = Field(default=5 * _MIB, gt=0)
    ALLOWED_PHOTO_TYPES: tuple[str, ...] = PHOTO_TYPES
    MAX_BODY_BYTES: int = Field(default=8 * _MIB, gt=0)
    DUPLICATE_DISTANCE_M: float = Field(default=50.0, ge=0)
    DUPLICATE_WINDOW_H: float = Field(default=72.0, ge=0)
    JURISDICTION_ID: str = "haiphong.gov.vn"
    STAFF_TOKEN: SecretStr | None = None
    OPEN311_MAX_PAGE_SIZE: int = Field(default=1000, gt=0)

    @field_validator("ALLOWED_PHOTO_TYPES")
    @classmethod
    def _known_photo_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(PHOTO_TYPES)
        if unknown:
            msg = f"photo types {sorted(unknown)} cannot be checked; choose from {PHOTO_TYPES}"
            raise ValueError(msg)
        return value

    @field_validator("STAFF_TOKEN")
    @classmethod
    def _strong_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        secret = value.get_secret_value()
        if secret.lower() in {"changethis", "changeme", "secret", "token"} or len(secret) < 16:
            msg = "GOMRAC_STAFF_TOKEN must be a random string of at least 16 characters"
            raise ValueError(msg)
        return value
