"""GET /open311/v2/media/…: uploaded photos published read-only, and withheld on request."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from shapely.geometry import Point

from gomrac.api.main import create_app
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import Report
from gomrac.geo.settings import Settings

LE_CHAN = (20.8378, 106.6854)  # (lat, long), inside Phường Lê Chân
MEDIA = "http://testserver/open311/v2/media/"


def pillow_image(fmt: str, *, exif: Image.Exif | None = None) -> bytes:
    """A real 16 x 8 image in `fmt` (JPEG, WEBP, PNG), with `exif` when given."""
    image = Image.new("RGB", (16, 8), (200, 120, 40))
    image.putpixel((0, 0), (0, 0, 255))
    out = io.BytesIO()
    image.save(out, format=fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def pixels(data: bytes) -> tuple[str | None, tuple[int, int], bytes]:
    """Format, size and RGB pixels of an image."""
    with Image.open(io.BytesIO(data)) as image:
        return image.format, image.size, image.convert("RGB").tobytes()


def post_photo(client: Any, image: bytes, mime: str, *, fmt: str = "json", **fields: str) -> Any:
    """POST a household_waste report in Lê Chân with `image` in the multipart field media."""
    data = {"service_code": "household_waste", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])}
    data.update(fields)
    files = {"media": (f"rac.{mime.split('/')[1]}", io.BytesIO(image), mime)}
    return client.post(f"/open311/v2/requests.{fmt}", data=data, files=files)


def photo_path(client: Any, rid: str) -> str:
    """The stored photo's path, relative to the media folder, read from the database."""
    with session_scope(client.app.state.engine) as session:
        report = session.get(Report, int(rid))
        assert report is not None and report.photo_path is not None
        return report.photo_path


def wire(client: Any, rid: str) -> dict[str, Any]:
    """The report as GET requests/<id>.json shows it."""
    response = client.get(f"/open311/v2/requests/{rid}.json")
    assert response.status_code == 200, response.text
    return response.json()[0]


@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "image/webp"])
def test_media__url_serves_the_photo(client: Any, png_image: bytes, mime: str) -> None:
    """media_url is the absolute photo URL; it answers the photo (same type and size, same
    pixels for a lossless PNG) with the photo's type."""
    image = {
        "image/png": png_image,
        "image/jpeg": pillow_image("JPEG"),
        "image/webp": pillow_image("WEBP"),
    }[mime]
    rid = post_photo(client, image, mime).json()[0]["service_request_id"]
    url = wire(client, rid)["media_url"]
    assert url == MEDIA + photo_path(client, rid)
    listed = client.get("/open311/v2/requests.json").json()
    assert [r["media_url"] for r in listed] == [url]
    photo = client.get(url)
    assert photo.status_code == 200
    served, sent = pixels(photo.content), pixels(image)
    assert served[:2] == sent[:2]
    if mime == "image/png":
        assert served[2] == sent[2]
    assert photo.headers["content-type"] == mime
    assert photo.headers["x-content-type-options"] == "nosniff"


def test_media__xml_names_the_same_url(client: Any, png_image: bytes, read_xml: Any) -> None:
    """A photo posted to requests.xml gets the same media_url in XML as in JSON."""
    posted = read_xml(post_photo(client, png_image, "image/png", fmt="xml"), "service_requests")
    rid = posted.findtext("request/service_request_id")
    single = read_xml(client.get(f"/open311/v2/requests/{rid}.xml"), "service_requests")
    url = single.findtext("request/media_url")
    assert url == wire(client, rid)["media_url"] == MEDIA + photo_path(client, rid)
    assert pixels(client.get(url).content) == pixels(png_image)


def test_media__url_follows_the_request_host(client: Any, png_image: bytes) -> None:
    """The photo URL is built from the base URL the client used, not a configured host."""
    rid = post_photo(client, png_image, "image/png").json()[0]["service_request_id"]
    response = client.get(
        f"/open311/v2/requests/{rid}.json", headers={"host": "rac.haiphong.example"}
    )
    url = response.json()[0]["media_url"]
    assert url == f"http://rac.haiphong.example/open311/v2/media/{photo_path(client, rid)}"


def test_media__client_media_url_is_kept(client: Any, png_image: bytes) -> None:
    """A media_url sent with the photo is echoed as sent; the photo is still stored."""
    link = "https://anh.example.vn/rac-ngo-12.jpg"
    rid = post_photo(client, png_image, "image/png", media_url=link).json()[0]
    single = wire(client, rid["service_request_id"])
    assert single["media_url"] == link
    assert single["extended_attributes"]["has_photo"] is True


@pytest.fixture
def outside(tmp_path: Path, png_image: bytes) -> Path:
    """A PNG next to (not inside) the media folder: what a traversal would try to read."""
    path = tmp_path / "secret.png"
    path.write_bytes(png_image)
    return path


@pytest.mark.parametrize(
    "attempt",
    [
        "%2e%2e/secret.png",
        "..%2fsecret.png",
        "%2e%2e%2fgomrac.sqlite",
        "2026/11/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.png",
        "{outside}",
        "2026/11/{hex}.png%00.png",
        "2026/11/{hex}.PNG",
        "2026/11/{hex}.svg",
    ],
)
def test_media__traversal_and_odd_paths_are_404(
    client: Any, png_image: bytes, outside: Path, attempt: str
) -> None:
    """Paths that leave the media folder or are not a stored photo's name answer 404."""
    post_photo(client, png_image, "image/png")  # the media folder exists and holds a photo
    path = attempt.format(outside=str(outside).replace("/", "%2f"), hex=uuid.uuid4().hex)
    response = client.get(f"/open311/v2/media/{path}")
    assert response.status_code == 404
    assert response.content != outside.read_bytes()
    # answered by the photo endpoint itself, not by the router's "Not Found"
    assert response.json()[0]["description"].startswith("photo '")


def _store_report_with_photo(client: Any, relative: str) -> None:
    with session_scope(client.app.state.engine) as session:
        store.create_report(
            session,
            service_code="household_waste",
            point=Point(LE_CHAN[1], LE_CHAN[0]),
            photo_path=relative,
            merge_duplicates=False,
        )


def test_media__link_out_of_the_folder_is_404(
    client: Any, api_settings: Settings, outside: Path, png_image: bytes
) -> None:
    """A photo name that is a symbolic link to a file outside the media folder is not served."""
    relative = f"2026/02/{uuid.uuid4().hex}.png"
    link = api_settings.media_path / relative
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    _store_report_with_photo(client, relative)
    assert client.get(f"/open311/v2/media/{relative}").status_code == 404
    link.unlink()
    link.write_bytes(png_image)  # the same name as a real file inside the folder is served
    assert client.get(f"/open311/v2/media/{relative}").content == png_image


def test_media__file_of_no_report_is_404(
    client: Any, api_settings: Settings, png_image: bytes
) -> None:
    """A file in the media folder that no stored report points to is not served."""
    relative = f"2026/03/{uuid.uuid4().hex}.png"
    stray = api_settings.media_path / relative
    stray.parent.mkdir(parents=True)
    stray.write_bytes(png_image)
    assert client.get(f"/open311/v2/media/{relative}").status_code == 404
    _store_report_with_photo(client, relative)
    assert client.get(f"/open311/v2/media/{relative}").content == png_image


@pytest.fixture
def unpublished(api_settings: Settings) -> Iterator[Any]:
    """A client on an app started with PUBLISH_PHOTOS off (same database and media folder)."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    app = create_app(api_settings.model_copy(update={"publish_photos": False}))
    with TestClient(app) as client:
        yield client


def test_media__publish_switch_off_withholds_photos(
    unpublished: Any, api_settings: Settings, png_image: bytes, read_xml: Any
) -> None:
    """With PUBLISH_PHOTOS off the photo is stored but media_url is null and its URL is 404."""
    client = unpublished
    rid = post_photo(client, png_image, "image/png").json()[0]["service_request_id"]
    relative = photo_path(client, rid)
    assert pixels((api_settings.media_path / relative).read_bytes()) == pixels(png_image)
    single = wire(client, rid)
    assert single["media_url"] is None
    assert single["extended_attributes"]["has_photo"] is True
    xml = read_xml(client.get(f"/open311/v2/requests/{rid}.xml"), "service_requests")
    assert xml.find("request/media_url").text is None
    response = client.get(f"/open311/v2/media/{relative}")
    assert response.status_code == 404
    assert "not published" in response.json()[0]["description"]
    link = "https://anh.example.vn/rac.jpg"  # a link the client chose is still echoed
    linked = post_photo(client, png_image, "image/png", media_url=link).json()[0]
    assert wire(client, linked["service_request_id"])["media_url"] == link


def test_media__switch_back_on_publishes_stored_photos(
    api_settings: Settings, png_image: bytes
) -> None:
    """Photos withheld while the switch was off are served once it is on again."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    with TestClient(create_app(api_settings.model_copy(update={"publish_photos": False}))) as off:
        rid = post_photo(off, png_image, "image/png").json()[0]["service_request_id"]
        assert wire(off, rid)["media_url"] is None
    with TestClient(create_app(api_settings)) as on:
        url = wire(on, rid)["media_url"]
        assert url == MEDIA + photo_path(on, rid)
        assert pixels(on.get(url).content) == pixels(png_image)


def test_settings__publish_photos_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GOMRAC_PUBLISH_PHOTOS=false turns publication off; it is on by default."""
    monkeypatch.delenv("GOMRAC_PUBLISH_PHOTOS", raising=False)
    assert Settings(media_dir=tmp_path).publish_photos is True
    monkeypatch.setenv("GOMRAC_PUBLISH_PHOTOS", "false")
    assert Settings(media_dir=tmp_path).publish_photos is False


def gps_exif() -> Image.Exif:
    """EXIF with a GPS position (Lê Chân), a camera make and model, and the owner's name."""
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"  # Make
    exif[0x0110] = "Phone X"  # Model
    exif[0x013B] = "Nguyễn Văn A"  # Artist
    exif[0x0112] = 6  # Orientation: the picture must be turned 90° clockwise to stand upright
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (20.0, 50.0, 16.0)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (106.0, 41.0, 7.0)  # GPSLongitudeRef, GPSLongitude
    return exif


def test_media__jpeg_gps_exif_removed_from_public_photo(client: Any) -> None:
    """A JPEG with GPS, camera and owner EXIF comes back from its public URL without any EXIF,
    turned upright as its orientation tag said."""
    image = pillow_image("JPEG", exif=gps_exif())
    with Image.open(io.BytesIO(image)) as sent:  # the test image really carries the GPS block
        assert sent.getexif().get_ifd(0x8825)[2] == (20.0, 50.0, 16.0)
        assert sent.size == (16, 8)
    rid = post_photo(client, image, "image/jpeg").json()[0]["service_request_id"]
    served = client.get(wire(client, rid)["media_url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert b"Exif" not in served.content
    assert b"Phone X" not in served.content
    assert "Nguyễn".encode() not in served.content
    with Image.open(io.BytesIO(served.content)) as photo:
        assert dict(photo.getexif()) == {}
        assert "exif" not in photo.info and "icc_profile" not in photo.info
        assert photo.size == (8, 16)  # the orientation is applied, not dropped


def test_media__original_kept_for_staff_only(api_settings: Settings) -> None:
    """With KEEP_ORIGINAL_PHOTOS the photo as sent is kept apart, and no public URL serves it."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    image = pillow_image("JPEG", exif=gps_exif())
    settings = api_settings.model_copy(update={"keep_original_photos": True})
    with TestClient(create_app(settings)) as client:
        rid = post_photo(client, image, "image/jpeg").json()[0]["service_request_id"]
        with session_scope(client.app.state.engine) as session:
            report = session.get(Report, int(rid))
            assert report is not None and report.original_photo_path is not None
            original = report.original_photo_path
        assert original.startswith("originals/")
        assert (settings.media_path / original).read_bytes() == image
        response = client.get(f"/open311/v2/media/{original}")
        assert response.status_code == 404
        assert response.json() == [{"code": 404, "description": f"photo {original!r} not found"}]


def test_media__photo_of_pending_report_not_served(api_settings: Settings) -> None:
    """With reports published after review, a new report and its photo are not public; once
    staff publish it, both are."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    settings = api_settings.model_copy(update={"publish_reports": "after_review"})
    with TestClient(create_app(settings)) as client:
        rid = post_photo(client, pillow_image("PNG"), "image/png").json()[0]["service_request_id"]
        relative = photo_path(client, rid)
        pending = client.get(f"/open311/v2/requests/{rid}.json")
        assert pending.status_code == 404
        assert "not published yet" in pending.json()[0]["description"]
        assert client.get("/open311/v2/requests.json").json() == []
        assert client.get(f"/open311/v2/media/{relative}").status_code == 404
        with session_scope(client.app.state.engine) as session:
            store.set_report_publication(
                session, int(rid), publication="published", actor="lan.nguyen"
            )
        assert wire(client, rid)["extended_attributes"]["publication"] == "published"
        assert client.get(f"/open311/v2/media/{relative}").status_code == 200
