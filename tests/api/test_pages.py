"""The ward's web pages and their GeoJSON layers, on a plan of the Văn Miếu sample area.

The routes, stops, bins and schedules are checked against the plan's weekly service plan
(`WardPlan.week`), the one object they are views of.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI

from gomrac.analysis.scorecard import NO_WEEKLY_BASELINE
from gomrac.api.main import create_app
from gomrac.api.planning import SAMPLE_LABEL, WardPlan
from gomrac.api.web import layers, pages
from gomrac.api.weekly import schedule_rows, write_week
from gomrac.geo.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx, as in conftest
    from fastapi.testclient import TestClient

LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
HOTLINE = "0225 3842 000"


@pytest.fixture(scope="session")
def week_dir(vanmieu_plan: WardPlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan's week written as ``gomrac plan`` writes it (schedule, one .ics per group)."""
    out = tmp_path_factory.mktemp("plan") / "week"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_week(vanmieu_plan.week, out, label=SAMPLE_LABEL)
    return out


def web_app(settings: Settings) -> FastAPI:
    """The app with the pages, the layers and the static files, as create_app will add them."""
    app = create_app(settings)
    return app


@pytest.fixture
def web(api_settings: Settings, vanmieu_plan: WardPlan) -> Iterator[TestClient]:
    """A started app holding the Văn Miếu plan as the sample and as Lê Chân's stand-in."""
    settings = api_settings.model_copy(update={"ward_hotline": HOTLINE})
    app = web_app(settings)
    layers.register_plan(app, layers.SAMPLE_KEY, vanmieu_plan)
    layers.register_plan(app, LE_CHAN_WARD, vanmieu_plan)
    with TestClient(app) as client:
        yield client


def _all_features(web: TestClient, url: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    while url:
        answer = web.get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        features += body["features"]
        url = body.get("next", "")
    return features


def _coordinates(geometry: dict[str, Any]) -> Iterator[float]:
    def walk(c: Any) -> Iterator[float]:
        if isinstance(c, float | int):
            yield float(c)
        else:
            for x in c:
                yield from walk(x)

    yield from walk(geometry["coordinates"])


def test_catalogue__sample_and_synthetic_labels(web: TestClient) -> None:
    """Road-based layers carry the sample label, reports/hotspots/cameras also SYNTHETIC."""
    cat = web.get("/api/layers/sample").json()
    labels = {layer["name"]: layer["labels"] for layer in cat["layers"]}
    assert labels["boundary"] == []
    for name in ("streets", "buildings", "points"):
        assert labels[name] == [layers.SAMPLE_BADGE], name
    for stream in ("food", "recyclable", "residual"):
        for kind in ("routes", "stops"):
            assert labels[f"{kind}-{stream}"] == [layers.SAMPLE_BADGE], (kind, stream)
    for name in ("hotspots", "reports", "cameras"):
        assert labels[name] == [layers.SAMPLE_BADGE, layers.SYNTHETIC_BADGE], name
    assert "© OpenStreetMap contributors" in " ".join(cat["attribution"])


def test_layer__rfc7946_six_decimals(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Points come as a geo+json FeatureCollection, one feature per served point, 6 decimals."""
    answer = web.get("/api/layers/sample/points.geojson")
    assert answer.headers["content-type"].startswith("application/geo+json")
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == len(vanmieu_plan.served_points()) == len(body["features"])
    streets = _all_features(web, "/api/layers/sample/streets.geojson?page_size=500")
    coords = [c for f in streets for c in _coordinates(f["geometry"])]
    assert coords
    assert all(round(c, 6) == c for c in coords)
    assert all("crs" not in f for f in streets)  # RFC 7946: WGS84 only, no crs member


def test_layer__bbox_keeps_what_intersects(web: TestClient) -> None:
    """A box around one point returns that point; a box elsewhere returns nothing."""
    first = web.get("/api/layers/sample/points.geojson").json()["features"][0]
    x, y = first["geometry"]["coordinates"]
    bbox = f"{x - 1e-5},{y - 1e-5},{x + 1e-5},{y + 1e-5}"
    near = web.get(f"/api/layers/sample/points.geojson?bbox={bbox}").json()
    assert [f["id"] for f in near["features"]] == [first["id"]]
    far = web.get("/api/layers/sample/points.geojson?bbox=106.6,20.8,106.7,20.9").json()
    assert far["numberMatched"] == 0
    assert far["features"] == []


def test_layer__paging_covers_every_feature_once(web: TestClient) -> None:
    """Pages of 200 streets, followed by their next links, give every street exactly once."""
    first = web.get("/api/layers/sample/streets.geojson?page_size=200").json()
    total = first["numberMatched"]
    assert total > 400
    assert first["numberReturned"] == 200
    assert first["next"].startswith("/api/layers/sample/streets.geojson?")
    features = _all_features(web, "/api/layers/sample/streets.geojson?page_size=200")
    ids = [f["id"] for f in features]
    assert len(ids) == total == len(set(ids))


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/api/layers/sample/points.geojson?bbox=1,2,3", 400, "bbox must be four numbers"),
        ("/api/layers/sample/points.geojson?bbox=a,b,c,d", 400, "bbox must be four numbers"),
        ("/api/layers/sample/points.geojson?bbox=10,0,5,1", 400, "minlon <= maxlon"),
        ("/api/layers/sample/points.geojson?bbox=nan,0,1,1", 400, "bbox must be four numbers"),
        (
            f"/api/layers/sample/points.geojson?page_size={layers.MAX_PAGE_SIZE + 1}",
            422,
            "page_size",
        ),
        ("/api/layers/sample/points.geojson?page=0", 422, "page"),
        ("/api/layers/sample/routes.geojson?stream=glass", 400, "stream 'glass' is not planned"),
        ("/api/layers/sample/stops.geojson?stream=glass&day=2", 400, "is not planned"),
        ("/api/layers/sample/routes.geojson?day=7", 422, "day"),
        ("/api/layers/sample/stops.geojson?day=-1", 422, "day"),
        ("/api/layers/sample/stops.geojson?day=monday", 422, "day"),
        ("/api/layers/sample?day=9", 422, "day"),
        ("/api/layers/sample/rivers.geojson", 404, "unknown layer 'rivers'"),
        ("/api/layers/99999/points.geojson", 404, "no plan for '99999'"),
        ("/api/layers/..%2F..%2Fetc/points.geojson", 404, ""),
        ("/api/layers/nowhere", 404, "no plan for 'nowhere'"),
    ],
)
def test_layer__bad_input_is_4xx(web: TestClient, url: str, status: int, detail: str) -> None:
    """Malformed or unknown parameters answer 4xx with a message, never 5xx."""
    answer = web.get(url)
    assert answer.status_code == status, answer.text
    if detail:
        assert detail in str(answer.json()["detail"])


def _week_rows(frame: Any, stream: str | None, day: int) -> Any:
    rows = frame[frame["service_day"] == day]
    return rows if stream is None else rows[rows["stream"] == stream]


def test_catalogue__routes_per_stream_for_the_day(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Routes and stops are listed per stream for the asked day; counts match the week."""
    week = vanmieu_plan.week
    for day in (0, 3):
        cat = web.get(f"/api/layers/sample?day={day}").json()
        assert cat["day"] == day
        assert [d["weekday_vi"] for d in cat["days"]][day] == layers.WEEKDAYS_VI[day]
        by_name = {layer["name"]: layer for layer in cat["layers"]}
        assert "routes" not in by_name  # one layer per stream, never all of them twice
        for stream in ("food", "recyclable", "residual"):
            routes = by_name[f"routes-{stream}"]
            assert routes["kind"] == "routes"
            assert routes["shown"] is True
            assert routes["count"] == len(_week_rows(week.routes, stream, day)) > 0
            body = web.get(routes["url"]).json()
            assert body["numberMatched"] == routes["count"]
            stops = by_name[f"stops-{stream}"]
            visits = _week_rows(week.visits, stream, day)
            trips = _week_rows(week.trips, stream, day)
            assert stops["count"] == len(visits) + len(trips)
        name_vi = week.stream_names_vi["recyclable"].lower()
        title = by_name["routes-recyclable"]["title_vi"]
        assert title.endswith(f"{name_vi} – {layers.WEEKDAYS_VI[day]} {cat['days'][day]['date']}")
    monday = date.fromisoformat(week.week_start)
    assert monday.weekday() == 0
    assert cat["days"][0]["date"] == monday.strftime("%d/%m/%Y")


def test_routes__default_all_streams_on_monday(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Without parameters the routes are Monday's of every stream, with the week's km."""
    week = vanmieu_plan.week
    features = web.get("/api/layers/sample/routes.geojson").json()["features"]
    monday = _week_rows(week.routes, None, 0)
    assert len(features) == len(monday)
    assert {f["properties"]["stream"] for f in features} == {"food", "recyclable", "residual"}
    assert {f["properties"]["service_day"] for f in features} == {0}
    assert sum(f["properties"]["km"] for f in features) == pytest.approx(
        monday["km"].sum(), abs=0.01 * len(monday)
    )
    # the seven days of every stream add up to the week's km
    km = sum(
        f["properties"]["km"]
        for day in range(7)
        for f in web.get(f"/api/layers/sample/routes.geojson?day={day}").json()["features"]
    )
    assert km == pytest.approx(week.overall["km_per_week"], abs=0.01 * len(week.routes))
    food = web.get("/api/layers/sample/routes.geojson?stream=food&day=6").json()["features"]
    assert {(f["properties"]["stream"], f["properties"]["weekday_vi"]) for f in food} == {
        ("food", "Chủ Nhật")
    }
    stops_per_trip = _week_rows(week.visits, "food", 6).groupby(["vehicle", "trip"]).size()
    for f in food:
        props = f["properties"]
        assert props["stops"] == stops_per_trip[(props["vehicle"], props["trip"])]


def test_routes__one_distinct_colour_per_vehicle(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Every vehicle of the week has its own colour, the same on its routes and stops."""
    names = [f"{p}-{n}" for p in ("CL", "TC", "TP") for n in range(1, 9)]
    colours = layers.vehicle_colours(names)
    assert len(set(colours.values())) == 24
    assert list(layers.vehicle_colours(["CL-10", "CL-2"])) == ["CL-2", "CL-10"]
    plan_colours = layers.plan_vehicle_colours(vanmieu_plan)
    vehicles = set(vanmieu_plan.week.routes["vehicle"])
    assert set(plan_colours) == vehicles
    assert len(set(plan_colours.values())) == len(vehicles) >= 3
    seen = set()
    for name in ("routes", "stops"):
        for f in web.get(f"/api/layers/sample/{name}.geojson?day=2").json()["features"]:
            assert f["properties"]["colour"] == plan_colours[f["properties"]["vehicle"]]
            seen.add(f["properties"]["vehicle"])
    assert seen == set(_week_rows(vanmieu_plan.week.routes, None, 2)["vehicle"])
    cat = web.get("/api/layers/sample?day=2").json()
    assert {t["vehicle"]: t["colour"] for t in cat["trucks"]} == {v: plan_colours[v] for v in seen}


def test_stops__pop_up_in_plain_vietnamese(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """A stop's pop-up gives the point's name, the stream's Vietnamese name, the arrival, kg,
    and the real weekday and date of the visit, as the week's visits say."""
    week = vanmieu_plan.week
    cat = web.get("/api/layers/sample?day=4").json()
    stops = next(layer for layer in cat["layers"] if layer["name"] == "stops-residual")
    labels = [f[1] for f in stops["fields"]]
    assert labels[:3] == ["Nơi dừng", "Loại rác", "Việc tại điểm"]
    assert {"Thứ", "Ngày", "Giờ đến", "Khối lượng rác (kg)"} <= set(labels)
    features = web.get(stops["url"]).json()["features"]
    visits = _week_rows(week.visits, "residual", 4).set_index("point_id")
    names = week.points.set_index("point_id")["name"]
    clients = [f["properties"] for f in features if f["properties"]["kind"] == "client"]
    assert len(clients) == len(visits) > 0
    for props in clients:
        visit = visits.loc[props["point_id"]]
        assert props["name"] == names[props["point_id"]]
        assert props["stream_vi"] == "Rác còn lại"
        assert props["arrival"] == visit["arrival"]
        assert props["kg"] == pytest.approx(visit["kg"], abs=0.05)
        assert props["weekday_vi"] == visit["weekday"]
        assert props["date"] == date.fromisoformat(visit["date"]).strftime("%d/%m/%Y")
        assert props["kind_vi"] == "thu gom tại điểm tập kết"
        for field in stops["fields"]:
            for key in field[:1] + field[3:]:  # the Vietnamese property, and the English one
                assert not isinstance(props[key], dict | list), key
                assert not str(props[key]).startswith(("{", "[")), key
    unloads = [f["properties"] for f in features if f["properties"]["kind"] == "unload"]
    trips = _week_rows(week.trips, "residual", 4)
    assert sorted(u["kg"] for u in unloads) == pytest.approx(sorted(trips["kg"]), abs=0.05)
    # the stops of a trip are numbered in the order of arrival, the unloading last
    for (vehicle, trip), grp in pd.DataFrame([f["properties"] for f in features]).groupby(
        ["vehicle", "trip"]
    ):
        ordered = grp.sort_values("order")
        assert ordered["order"].tolist() == list(range(1, len(grp) + 1)), (vehicle, trip)
        assert ordered["kind"].iloc[-1] == "unload"


def test_arrival_day__after_midnight_is_the_next_day() -> None:
    """A Sunday shift's arrival at 00:40 falls on Monday of the next week."""
    assert layers.arrival_day("2026-12-07", 0, 20 * 3600) == (0, "07/12/2026")
    assert layers.arrival_day("2026-12-07", 6, 24 * 3600 + 40 * 60) == (0, "14/12/2026")


def test_points__bins_and_days_per_stream(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Each gathering point lists its bins and collection days per stream from the week."""
    week = vanmieu_plan.week.points.set_index("point_id")
    features = web.get("/api/layers/sample/points.geojson").json()["features"]
    planned = [f["properties"] for f in features if f["properties"]["planned"]]
    assert len(planned) == len(week)
    for props in planned:
        row = week.loc[props["point_id"]]
        assert props["households"] == round(row["households"])
        for part, stream in zip(
            props["bins_by_stream"].split("; "), ("food", "recyclable", "residual"), strict=True
        ):
            name, _, bins = part.partition(": ")
            assert name == vanmieu_plan.week.stream_names_vi[stream]
            counted = {int(m[1]): int(m[0]) for m in re.findall(r"(\d+) × (\d+) L", bins)}
            assert counted.get(660, 0) == row[f"{stream}_bins_660l"]
            assert counted.get(240, 0) == row[f"{stream}_bins_240l"]
        food_days = props["days_by_stream"].split("; ")[0]
        if row["food_per_week"] == 7:
            assert food_days == "Rác thực phẩm: hằng ngày"
        assert props["bins_by_stream_en"].startswith("food waste: ")


def test_map_page__vietnamese_local_scripts(web: TestClient) -> None:
    """The map page is Vietnamese, loads Leaflet and its script from the app, and credits OSM."""
    answer = web.get("/sample/map")
    assert answer.status_code == 200
    html = answer.text
    assert '<html lang="vi">' in html
    assert "Bản đồ thu gom rác" in html
    assert "© OpenStreetMap contributors" in html
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/leaflet/leaflet.js" in srcs
    assert "/static/map.js" in srcs
    assert not [s for s in srcs if s.startswith(("http:", "https:", "//"))]
    assert "MẪU HÀ NỘI" in html
    assert "SYNTHETIC" in html
    english = web.get("/sample/map?lang=en").text
    assert '<html lang="en">' in english
    assert "Waste collection map" in english


def test_map_page__one_service_day(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """The map page links the seven service days and loads the asked day's layers."""
    html = web.get("/sample/map?day=3").text
    days = re.findall(r'<a href="/sample/map\?day=(\d)" data-day="\d"', html)
    assert days == [str(d) for d in range(7)]
    assert re.search(r'data-day="3" aria-current="page"', html)
    thursday = date.fromisoformat(vanmieu_plan.week.week_start).toordinal() + 3
    assert f"Thứ Năm {date.fromordinal(thursday):%d/%m/%Y}" in html
    assert '"layers_url": "/api/layers/sample?day=3"' in html
    assert 'href="/sample/map?day=3&amp;lang=en"' in html  # English keeps the day
    assert web.get("/sample/map?day=7").status_code == 422


def test_static__leaflet_and_scripts_served(web: TestClient) -> None:
    """Leaflet (installed by scripts/setup.sh) and the pages' own scripts are served locally."""
    assert pages.leaflet_installed(), "Leaflet is missing under api/static/vendor: run setup.sh"
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/map.js", "/static/resident.js"):
        answer = web.get(path)
        assert answer.status_code == 200, path
        assert "javascript" in answer.headers["content-type"]
    assert web.get("/static/vendor/leaflet/leaflet.css").status_code == 200


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/wards/99999/map", 404),
        ("/wards/abc/map", 404),
        ("/wards/99999", 404),
        ("/wards/99999/scorecard", 404),
        ("/sample/map?lang=fr", 422),
        ("/wards/%3Cscript%3E/map", 404),
    ],
)
def test_pages__bad_input_is_4xx(web: TestClient, url: str, status: int) -> None:
    """Unknown ward codes and languages answer 4xx, never a traceback."""
    answer = web.get(url)
    assert answer.status_code == status
    assert "Traceback" not in answer.text
    assert "<script>" not in answer.text


def test_map_page__ward_without_plan(api_settings: Settings) -> None:
    """A real ward with no plan in the server gets a 404 page that says so."""
    with TestClient(web_app(api_settings)) as client:
        answer = client.get(f"/wards/{LE_CHAN_WARD}/map")
        assert answer.status_code == 404
        assert "chưa có kế hoạch" in answer.text
        # the residents' page still works: hotline and the report form, no schedule
        resident = client.get(f"/wards/{LE_CHAN_WARD}")
        assert resident.status_code == 200
        assert "Phường Lê Chân" in resident.text
        assert "Chưa có lịch thu gom" in resident.text


def test_residents_page__hotline_groups_and_form(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """The residents' page shows the hotline, one entry per group and a form to the intake."""
    answer = web.get(f"/wards/{LE_CHAN_WARD}")
    assert answer.status_code == 200
    html = answer.text
    assert f'href="tel:{HOTLINE.replace(" ", "")}"' in html
    assert "Phường Lê Chân" in html
    groups = pages.schedule_by_group(vanmieu_plan)
    assert groups
    assert html.count("<option value=", html.index('id="group-select"')) >= len(groups)
    assert '"post_url": "/open311/v2/requests.json"' in html
    assert 'name="media"' in html
    # the plan's week was not written for this app: no calendar links
    assert all(g["ics"] is None for g in groups)
    assert "/lich/to_" not in html


def test_schedule_by_group__the_published_schedule(vanmieu_plan: WardPlan) -> None:
    """Each group's rows are the published schedule's visits, by stream, point and time."""
    week = vanmieu_plan.week
    published = schedule_rows(week)
    groups = pages.schedule_by_group(vanmieu_plan)
    assert [g["group_id"] for g in groups] == sorted(set(published["group_id"]))
    weekdays = {d: k for k, d in enumerate(layers.WEEKDAYS_VI)}
    for g in groups:
        mine = published[published["group_id"] == g["group_id"]]
        assert g["name"] == mine["to_dan_pho"].iloc[0]
        # every published visit of the group is on exactly one row, under its weekday
        shown = {
            (r["stream"], r["point"], r["out_before"], r["truck"], d)
            for r in g["rows"]
            for d in (layers.WEEKDAYS_VI if r["days"] == "Hằng ngày" else r["days"].split(", "))
        }
        expected = {
            (v.stream, v.diem_tap_ket, v.mang_rac_ra_truoc, v.xe_den_khoang, v.thu)
            for v in mine.itertuples()
        }
        assert shown == expected
        for r in g["rows"]:
            assert r["waste"] == week.stream_names_vi[r["stream"]]
            assert re.fullmatch(r"\d\d:\d\d", r["out_before"])
            assert re.fullmatch(r"\d\d:\d\d–\d\d:\d\d", r["truck"])
            days = r["days"].split(", ")
            assert r["days"] == "Hằng ngày" or days == sorted(days, key=weekdays.__getitem__)
    # a point collected every day for food shows it once, as every day
    daily = week.points[week.points["food_per_week"] == 7]["name"]
    rows = [r for g in groups for r in g["rows"] if r["stream"] == "food"]
    assert any(r["point"] in set(daily) and r["days"] == "Hằng ngày" for r in rows)


def test_residents_page__calendar_links_when_written(
    api_settings: Settings, vanmieu_plan: WardPlan, week_dir: Path, tmp_path: Path
) -> None:
    """With the week written, each group links its .ics, served as text/calendar; a group
    whose file is missing gets no link, and bad names answer 404."""
    import shutil

    week_dir = Path(shutil.copytree(week_dir, tmp_path / "week"))  # this test removes a file
    app = web_app(api_settings)
    layers.register_plan(app, LE_CHAN_WARD, vanmieu_plan, week_dir=week_dir)
    first = pages.schedule_by_group(vanmieu_plan)[0]
    (week_dir / "lich_thu_gom" / "ics" / f"to_{first['group_id']}.ics").unlink()
    with TestClient(app) as client:
        html = client.get(f"/wards/{LE_CHAN_WARD}").text
        groups = pages.schedule_by_group(
            vanmieu_plan, week_dir=week_dir, root=f"/wards/{LE_CHAN_WARD}"
        )
        assert groups[0]["ics"] is None
        linked = [g for g in groups if g["ics"]]
        assert len(linked) == len(groups) - 1 > 0
        for g in linked:
            assert f'"ics": "/wards/{LE_CHAN_WARD}/lich/to_{g["group_id"]}.ics"' in html
        answer = client.get(linked[0]["ics"])
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/calendar")
        assert answer.text.startswith("BEGIN:VCALENDAR")
        assert linked[0]["name"] in answer.text
        for url in (
            f"/wards/{LE_CHAN_WARD}/lich/to_{first['group_id']}.ics",
            f"/wards/{LE_CHAN_WARD}/lich/..%2F..%2Fvisits.csv",
            f"/wards/{LE_CHAN_WARD}/lich/to_1.ics.txt",
            "/wards/99999/lich/to_1.ics",
            "/sample/lich/to_1.ics",
        ):
            bad = client.get(url)
            assert bad.status_code == 404, url
            assert "Traceback" not in bad.text


def test_scorecard_page__nine_rows_printable(web: TestClient) -> None:
    """The scorecard page lists the nine indicators with targets, Vietnamese reasons, print CSS."""
    html = web.get("/sample/scorecard").text
    rows = re.findall(r'<tr id="ind-([a-z_]+)"', html)
    assert len(rows) == 9
    assert "−30%" in html
    assert "&gt;50%" in html
    assert "khu vực mẫu Hà Nội không có sổ theo dõi" in html
    assert "window.print()" in html
    css = web.get("/static/gomrac.css").text
    assert "@media print" in css


def test_scorecard_page__collection_per_week_without_baseline(
    web: TestClient, vanmieu_plan: WardPlan
) -> None:
    """The collection row shows no cut (no weekly baseline yet) and the week's km and CO₂."""
    html = web.get("/sample/scorecard").text
    row = html[html.index('<tr id="ind-collection_cut"') :]
    row = row[: row.index("</tr>")]
    overall = vanmieu_plan.week.overall
    assert "chưa có số liệu hiện trạng theo tuần" in row
    assert f"theo kế hoạch {overall['km_per_week']:.1f} km" in row
    assert f"{overall['co2_kg_per_week']:.1f} kg CO₂ mỗi tuần" in row
    assert "Chưa có số liệu" in row  # the status: no value


def test_pages__english(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """With ?lang=en the residents' and scorecard pages are in English, reasons included."""
    resident = web.get(f"/wards/{LE_CHAN_WARD}?lang=en").text
    assert '<html lang="en">' in resident
    assert "Find my residential group" in resident
    assert "Report a waste problem" in resident
    english_days = {*layers.WEEKDAYS_EN, "Every day"}
    for g in pages.schedule_by_group(vanmieu_plan, lang="en"):
        for r in g["rows"]:
            assert set(r["days"].split(", ")) <= english_days, r["days"]
    card = web.get("/sample/scorecard?lang=en").text
    assert "Households within walking distance of a gathering point" in card
    assert "the Hanoi sample has no stored register" in card


def test_in_vietnamese__reasons_and_details() -> None:
    """Scorecard reasons and details are translated part by part; unknown text is kept."""
    text = f"{NO_WEEKLY_BASELINE}; MẪU HÀ NỘI / Hanoi sample, not Hai Phong"
    assert pages.in_vietnamese(text) == (
        "chưa có số liệu hiện trạng theo tuần: số km thu gom mỗi tuần hiện nay chưa được ghi "
        "nhận, nên chưa thể so sánh mức giảm; MẪU HÀ NỘI, không phải Hải Phòng"
    )
    assert pages.in_vietnamese("planned 251.4 km and 269.5 kg CO₂ per week") == (
        "theo kế hoạch 251.4 km và 269.5 kg CO₂ mỗi tuần"
    )
    assert pages.in_vietnamese("median 5.0 h to resolve") == "thời gian xử lý trung vị 5.0 giờ"
    assert pages.in_vietnamese("something new") == "something new"
    assert pages.in_vietnamese(None) is None


def test_index__lists_the_served_plans(web: TestClient) -> None:
    """The app's front page is a page, not a JSON 404: it links each served plan's pages."""
    page = web.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for base in ("/sample", f"/wards/{LE_CHAN_WARD}"):
        for suffix in ("?lang=vi", "/map?lang=vi", "/scorecard?lang=vi"):
            assert f'href="{base}{suffix}"' in page.text
    assert "MẪU HÀ NỘI" in page.text and "OpenStreetMap" in page.text
