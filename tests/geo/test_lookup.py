"""Ward lookup by the official ward polygons (geo.lookup), on the real 2025 boundaries."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from gomrac.geo.lookup import SNAP_M, WardRef, ward_at, ward_index
from gomrac.geo.settings import Settings
from gomrac.geo.wards import list_wards

POINTS_PER_WARD = 25
GEOD = Geod(ellps="WGS84")


def test_ward_at__random_points_inside_every_ward(settings: Settings) -> None:
    """25 random points inside each of the 114 ward polygons are all placed in a ward that
    contains them (the outline check used to refuse 176 of 8,000 such points)."""
    wards = list_wards(settings=settings)
    assert len(wards) == 114
    rng = np.random.default_rng(2025)
    placed = 0
    for code, geom in zip(wards["code"], wards.geometry, strict=True):
        minx, miny, maxx, maxy = geom.bounds
        found = 0
        while found < POINTS_PER_WARD:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if not shapely.contains_xy(geom, x, y):
                continue
            found += 1
            ref = ward_at(x, y, settings=settings)
            assert isinstance(ref, WardRef), (code, x, y, ref)
            index = ward_index(settings=settings)
            polygon = index.geoms[index.refs.index(ref)]
            assert shapely.intersects_xy(polygon, x, y), (code, ref)
            placed += 1
    assert placed == 114 * POINTS_PER_WARD


def test_ward_at__known_point(settings: Settings) -> None:
    """A point in central Lê Chân is Phường Lê Chân, code 11383."""
    assert ward_at(106.6854, 20.8378, settings=settings) == WardRef("11383", "Phường Lê Chân")


def test_ward_at__just_outside_names_the_nearest_ward(settings: Settings) -> None:
    """A point 2 km off Bạch Long Vĩ is refused with a message naming that ward and the
    distance; a point 50 m off its coast still belongs to it."""
    index = ward_index(settings=settings)
    island = index.geoms[[r.code for r in index.refs].index("11948")]
    east = island.bounds[2]
    lat = island.representative_point().y
    coast = shapely.ops.nearest_points(island, shapely.Point(east + 1, lat))[0]
    lon_2km, lat_2km, _ = GEOD.fwd(coast.x, coast.y, 90, 2000)
    message = ward_at(lon_2km, lat_2km, settings=settings)
    assert isinstance(message, str)
    assert "outside Hai Phong's wards" in message
    assert "from the nearest, Đặc khu Bạch Long Vĩ (code 11948)" in message
    distance_km = float(message.split(": ")[1].split(" km")[0])
    assert distance_km == pytest.approx(2.0, abs=0.15)
    lon_50, lat_50, _ = GEOD.fwd(coast.x, coast.y, 90, SNAP_M / 2)
    assert ward_at(lon_50, lat_50, settings=settings) == WardRef("11948", "Đặc khu Bạch Long Vĩ")


def test_ward_at__far_away(settings: Settings) -> None:
    """Ho Chi Minh City is outside Hai Phong with no ward within about 50 km; Hanoi's centre
    is 29.3 km from the nearest ward of the enlarged city, Xã Cẩm Giàng."""
    assert ward_at(106.70, 10.78, settings=settings) == (
        "the location lat=10.78, long=106.7 is outside Hai Phong (no ward within about 50 km); "
        "this service takes reports inside the city only"
    )
    hanoi = ward_at(105.85, 21.03, settings=settings)
    assert isinstance(hanoi, str)
    assert "29.3 km from the nearest, Xã Cẩm Giàng (code 10903)" in hanoi
