"""Residents' photos: checked by content, stripped of metadata, stored for publication.

A photo is accepted when its bytes are a JPEG, PNG or WebP image that Pillow can decode
(whatever type the client declared). Before it is stored for publication it is decoded and
re-encoded from its pixels alone, with the EXIF orientation applied: EXIF (GPS position,
camera, owner's name), XMP, IPTC, ICC profiles, comments and PNG text chunks do not survive.
When the ward keeps originals (``GOMRAC_KEEP_ORIGINAL_PHOTOS``), the bytes as uploaded are
stored apart under ``originals/``, which the public media URL never serves.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import uuid
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from PIL import Image, ImageOps, UnidentifiedImageError

from gomrac.analysis.errors import ValidationError

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.datastructures import FormData

    from gomrac.geo.settings import Settings

PHOTO_EXT: Final = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
PHOTO_TYPE_BY_EXT: Final = {ext: mime for mime, ext in PHOTO_EXT.items()}
_PHOTO_NAMES: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}
_PIL_FORMAT: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_PIXELS: Final = 40_000_000  # a 40-megapixel photo; larger ones are refused, not decoded
PUBLISHED_PHOTO: Final = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9a-f]{32}\.(jpg|png|webp)")
ORIGINALS_DIR: Final = "originals"


def sniff_image_type(head: bytes) -> str | None:
    """MIME type of a JPEG, PNG or WebP file from its first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Photo:
    """An uploaded photo: the bytes as sent, and its type read from them."""

    data: bytes
    mime: str


async def read_photo(form: FormData, settings: Settings) -> Photo | None:
    """
    Read the photo of the multipart field ``media`` (None when there is none).

    Raises
    ------
    ValidationError
        If ``media`` is not a file, is empty or too large, or is not an accepted image type.
    """
    from starlette.datastructures import UploadFile

    upload = form.get("media")
    if upload is None:
        return None
    if not isinstance(upload, UploadFile):
        msg = "media must be an uploaded file (multipart/form-data); use media_url for a link"
        raise ValidationError(msg)
    limit = settings.max_photo_bytes
    data = await upload.read(limit + 1)
    if not data and not upload.filename:
        return None  # an empty file input
    if len(data) > limit:
        msg = f"the photo is larger than {limit / (1024 * 1024):g} MiB; send a smaller one"
        raise ValidationError(msg)
    if not data:
        msg = "the photo is empty"
        raise ValidationError(msg)
    mime = sniff_image_type(data[:16])
    allowed = settings.allowed_photo_types
    if mime is None or mime not in allowed:
        names = ", ".join(_PHOTO_NAMES[t] for t in allowed)
        declared = upload.content_type or "no type"
        msg = f"the photo is not a {names} image (its content does not match; declared {declared})"
        raise ValidationError(msg)
    declared_type = (upload.content_type or "").split(";")[0].strip().lower()
    if declared_type not in ("", "application/octet-stream") and not declared_type.startswith(
        "image/"
    ):
        msg = f"the photo is declared as {declared_type}; send it as {mime}"
        raise ValidationError(msg)
    return Photo(data=data, mime=mime)


def strip_metadata(photo: Photo) -> bytes:
    """
    Re-encode a photo from its pixels: orientation applied, every metadata block dropped.

    Parameters
    ----------
    photo
        As read by `read_photo`.

    Returns
    -------
    bytes
        An image of the same type (JPEG at quality 90, PNG and WebP lossless for PNG input)
        with no EXIF, XMP, IPTC, ICC profile, comment or text chunk.

    Raises
    ------
    ValidationError
        If the bytes do not decode as an image, or it has more than `MAX_PIXELS` pixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(photo.data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    msg = (
                        f"the photo has {width} x {height} pixels; send one of at most "
                        f"{MAX_PIXELS // 1_000_000} megapixels"
                    )
                    raise ValidationError(msg)
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        if isinstance(exc, ValidationError):
            raise
        msg = f"the photo cannot be read as a {_PHOTO_NAMES[photo.mime]} image; send another"
        raise ValidationError(msg) from None
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    mode = "RGBA" if has_alpha and photo.mime != "image/jpeg" else "RGB"
    pixels = upright.convert(mode)
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())  # no info, no metadata
    out = io.BytesIO()
    fmt = _PIL_FORMAT[photo.mime]
    if fmt == "JPEG" or fmt == "WEBP":
        clean.save(out, format=fmt, quality=90)
    else:
        clean.save(out, format=fmt)
    return out.getvalue()


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class SavedPhoto:
    """Where a photo went, relative to the media folder."""

    published: str  # YYYY/MM/<hex>.<ext>, metadata removed
    original: str | None  # originals/YYYY/MM/<hex>.<ext>, as uploaded, staff only


def save_photo(photo: Photo, *, clean: bytes, media_dir: Path, keep_original: bool) -> SavedPhoto:
    """Store the stripped photo `clean` (and `photo` as sent when the ward keeps originals)."""
    now = dt.datetime.now(dt.UTC)
    name = f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{PHOTO_EXT[photo.mime]}"
    _write(media_dir / name, clean)
    original = None
    if keep_original:
        original = f"{ORIGINALS_DIR}/{name}"
        try:
            _write(media_dir / original, photo.data)
        except BaseException:
            (media_dir / name).unlink(missing_ok=True)
            raise
    return SavedPhoto(published=name, original=original)


def remove_photo(saved: SavedPhoto, *, media_dir: Path) -> None:
    """Delete the files of a photo whose report was not stored."""
    for relative in (saved.published, saved.original):
        if relative is not None:
            (media_dir / relative).unlink(missing_ok=True)
