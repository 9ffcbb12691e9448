"""The markup written from Jinja2 templates: the schedule page, the trend chart, the map's boxes."""

from __future__ import annotations

import math
import re
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, Polygon

from gomrac.api import maps
from gomrac.api.schedule import HEADERS_VI, write_schedule
from gomrac.api.web.charts import trend_geometry, trend_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & co'


def _schedule_row(group: str, point: str) -> dict[str, Any]:
    return {
        "to_dan_pho": group,
        "ho_dan": 12,
        "diem_tap_ket": point,
        "dia_diem": "Ngõ 5",
        "loai_rac": "Rác thực phẩm",
        "ngay_thu_gom": "Thứ 2, 4, 6",
        "mang_rac_ra_truoc": "05:00",
        "xe_den_khoang": "05:15–05:45",
        "xe_so": "1",
    }


def test_write_schedule__escapes_names_and_notes(tmp_path: Path) -> None:
    """A ward, group or note holding markup is shown as text; one row per collection."""
    table = pd.DataFrame([_schedule_row(HOSTILE, "P1"), _schedule_row("Tổ 2", "P2 & P3")])
    out = write_schedule(table, tmp_path, ward="Phường A & B", notes=[HOSTILE, "mẫu"])
    page = Path(out["schedule_html"]).read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.endswith("</html>\n")
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co") == 2
    assert page.count("Lịch thu gom rác sinh hoạt – Phường A &amp; B") == 2  # title and heading
    assert "<td>P2 &amp; P3</td>" in page
    assert re.findall(r"<th>([^<]*)</th>", page) == list(HEADERS_VI.values())
    assert page.count("<tr>") == 1 + len(table)
    assert page.count("<li>") == 2
    assert "© OpenStreetMap contributors" in page
    csv = pd.read_csv(out["schedule_csv"], encoding="utf-8-sig")
    assert csv["Tổ dân phố"].tolist() == [HOSTILE, "Tổ 2"]  # the CSV holds the text as it is


def test_trend_svg__parses_with_points_labels_and_escaped_title() -> None:
    """The chart is well-formed SVG: one marker per known value, one line per unbroken run,
    thinned date labels, and a title with markup kept as text."""
    points = [(f"{i + 1:02d}/2026", None if i in (4, 5) else float(i * 3)) for i in range(23)]
    svg = trend_svg(
        trend_geometry(
            points,
            target=60.0,
            fmt=lambda x: f"{x:g}",
            title=HOSTILE,
            target_label="Mục tiêu <2030>",
            empty_label="no data",
        )
    )
    root = ET.fromstring(svg)  # raises on unescaped markup
    assert root.tag == f"{SVG}svg" and root.get("aria-label") == HOSTILE
    assert root.findtext(f"{SVG}title") == HOSTILE
    assert len(root.findall(f"{SVG}circle")) == 21
    assert len(root.findall(f"{SVG}polyline")) == 2
    texts = [t.text for t in root.findall(f"{SVG}text")]
    # 5 axis labels, every 3rd of 23 dates plus the last, the target's label, the last value
    assert len(texts) == 5 + 9 + 1 + 1
    assert texts[:5] == ["0%", "25%", "50%", "75%", "100%"]
    assert "Mục tiêu <2030>" in texts and texts[-1] == "66%"


def test_trend_geometry__positions_of_a_two_point_chart() -> None:
    """Two values against a 100 % target: the line spans the plot, the target sits on top."""
    chart = trend_geometry(
        [("01", 0.0), ("02", 50.0)],
        target=100.0,
        fmt=str,
        title="t",
        target_label="target",
        empty_label="no data",
    )
    assert chart.runs == (((62.0, 156.0), (506.0, 86.0)),)
    assert chart.target is not None and chart.target[0] == 16.0
    assert [label.text for _, label in chart.grid] == ["0.0%", "25.0%", "50.0%", "75.0%", "100.0%"]
    assert chart.last is not None and chart.last.text == "50.0%" and chart.empty is None


def test_trend_svg__no_value_says_so() -> None:
    """A chart without a value has its empty label and no line, still well-formed."""
    svg = trend_svg(
        trend_geometry(
            [("01", None)], target=None, fmt=str, title="t", target_label="", empty_label=HOSTILE
        )
    )
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}polyline") is None and root.find(f"{SVG}circle") is None
    assert [t.text for t in root.findall(f"{SVG}text")][-1] == HOSTILE


def test_trend_geometry__last_label_is_the_last_finite_value() -> None:
    """A series ending in NaN is labelled with its last known value, not "nan"."""
    chart = trend_geometry(
        [("01", 40.0), ("02", 55.0), ("03", math.nan)],
        target=None,
        fmt=lambda x: f"{x:g}",
        title="t",
        target_label="",
        empty_label="no data",
    )
    assert chart.last is not None and chart.last.text == "55%"
    assert len(chart.dots) == 2 and chart.empty is None


def _ward() -> Any:
    """The least of a WardData `base_map` reads: a square ward, one facility, no roads."""
    square = Polygon([(105.80, 21.00), (105.81, 21.00), (105.81, 21.01), (105.80, 21.01)])
    area = types.SimpleNamespace(
        name="Phường <i>Thử</i>",
        geometry=square,
        to_gdf=lambda: gpd.GeoDataFrame({"name": ["x"]}, geometry=[square], crs=4326),
    )
    facilities = gpd.GeoDataFrame(
        {"name": ["Bãi <b>Tràng Cát</b>"], "location_precision": ["approximate"]},
        geometry=[Point(105.805, 21.005)],
        crs=4326,
    )
    return types.SimpleNamespace(
        area=area,
        attribution=lambda: ["© OpenStreetMap contributors (ODbL 1.0)", "Ranh giới <b>x</b>"],
        networks=None,
        features=types.SimpleNamespace(layers={}),
        facilities=facilities,
    )


def test_map_boxes_and_popups__ids_and_escaping() -> None:
    """The title, credits and legend keep their ids; names with markup are text in every box
    and pop-up; a title holding Jinja2 syntax is written as it is."""
    m = maps.base_map(_ward(), title="Tuyến {{ 1 + 1 }} <b>A</b>")
    points = gpd.GeoDataFrame(
        {"name": ["<b>P1</b>"], "households": [12.5]}, geometry=[Point(105.801, 21.001)], crs=4326
    )
    maps.add_points(m, points, name="points", color="#2ca02c", popup_cols=["name", "households"])
    maps.add_legend(m, [("#1f77b4", "Điểm <b>hiện có</b>")])
    page = m.get_root().render()
    for box in ("gomrac-title", "gomrac-attribution", "gomrac-legend"):
        assert page.count(f'<div id="{box}"') == 1, box
    assert "<b>Tuyến {{ 1 + 1 }} &lt;b&gt;A&lt;/b&gt;</b>" in page
    assert "© OpenStreetMap contributors (ODbL 1.0) · Ranh giới &lt;b&gt;x&lt;/b&gt;</div>" in page
    assert "<b>Bãi &lt;b&gt;Tràng Cát&lt;/b&gt;</b><br>Vị trí: approximate" in page
    assert "<b>name</b>: &lt;b&gt;P1&lt;/b&gt;<br><b>households</b>: 12.5" in page
    assert 'background:#1f77b4;margin-right:6px"></span>Điểm &lt;b&gt;hiện có&lt;/b&gt;' in page
    assert "<b>P1</b>" not in page and "<b>hiện có</b>" not in page


def test_add_points__no_popup_without_its_columns() -> None:
    """A point with none of the pop-up's columns gets no pop-up at all."""
    m = folium.Map(location=[21.0, 105.8], tiles=None)
    points = gpd.GeoDataFrame({"name": ["P1"]}, geometry=[Point(105.801, 21.001)], crs=4326)
    maps.add_points(m, points, name="points", color="#2ca02c", popup_cols=["street"])
    assert "L.popup(" not in m.get_root().render()
