"""The scorecard page's trends and group table, and its printable report (HTML and PDF)."""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from gomrac.analysis import scorecard as sc
from gomrac.api.main import create_app
from gomrac.api.planning import WardPlan
from gomrac.api.scorecard import collected_households, group_rows, plan_indicators
from gomrac.api.web import layers
from gomrac.api.web.charts import trend_geometry, trend_svg
from gomrac.geo.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx, as in conftest
    from fastapi.testclient import TestClient

LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
SAMPLE_REASON = "the Hanoi sample has no stored register"


@pytest.fixture
def web(api_settings: Settings, vanmieu_plan: WardPlan) -> Iterator[TestClient]:
    """A started app holding the Văn Miếu plan as the sample and as Lê Chân's stand-in."""
    app = create_app(api_settings)
    layers.register_plan(app, layers.SAMPLE_KEY, vanmieu_plan)
    layers.register_plan(app, LE_CHAN_WARD, vanmieu_plan)
    with TestClient(app) as client:
        yield client


def test_group_rows__hanoi_sample(vanmieu_plan: WardPlan) -> None:
    """One row per group of the plan; its figures add up to the ward's indicators; the sample has
    no register, so no report or dump counts."""
    rows = group_rows(vanmieu_plan, None, register_reason=SAMPLE_REASON)
    table = vanmieu_plan.points.groups_table
    assert [r.group_id for r in rows] == [int(g) for g in vanmieu_plan.data.groups["group_id"]]
    assert len(rows) == len(table) > 1
    for r in rows:
        assert r.households == pytest.approx(table.loc[r.group_id, "households"])
        assert r.covered_pct == round(100 * table.loc[r.group_id, "covered_after"], 1)
        assert r.reports is None and r.dumps is None
        assert SAMPLE_REASON in r.reasons
        assert r.points_needed is not None and r.points_needed >= 1
    card = {i.target.key: i for i in plan_indicators(vanmieu_plan)}
    assert sum(bool(r.enough) for r in rows) == card["groups_with_points"].numerator
    week_groups = vanmieu_plan.week.groups
    served = week_groups[week_groups["households"] > 0].groupby("group_id")["point_id"].nunique()
    assert {r.group_id: r.points_serving for r in rows} == {
        int(g): int(served.get(g, 0)) for g in table.index
    }
    # households collected, group by group, add up to the ward's figure
    households, point_served = collected_households(vanmieu_plan)
    ward_collected = float(households[point_served].sum())
    by_groups = sum((r.collected_pct or 0.0) * (r.households or 0.0) / 100 for r in rows)
    assert by_groups == pytest.approx(ward_collected, rel=0.01)
    assert 0 < ward_collected < households.sum()
    # a trend's rows: the same groups, only the dated counts (the planned figures left out)
    counts = group_rows(vanmieu_plan, None, register_reason=SAMPLE_REASON, counts_only=True)
    assert [(r.group_id, r.name) for r in counts] == [(r.group_id, r.name) for r in rows]
    assert all(r.covered_pct is None and r.points_serving is None for r in counts)


def test_scorecard_page__trends_and_group_table(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """The sample's page has the group table; with no register it says why there is no series."""
    html = web.get("/sample/scorecard").text
    assert len(re.findall(r'<tr id="ind-([a-z_]+)"', html)) == 9
    assert len(re.findall(r'<tr id="group-\d+"', html)) == len(vanmieu_plan.data.groups)
    assert "Theo tổ dân phố" in html
    assert "Chưa có diễn biến theo thời gian: khu vực mẫu Hà Nội không có sổ theo dõi" in html
    assert 'href="/sample/scorecard/report.pdf"' in html
    assert "https://" not in html.replace("https://www.openstreetmap.org", "")  # no CDN


def _store_registers(web: TestClient) -> None:
    from tests.api.test_scorecard_over_time import _store_history

    _store_history(web.app.state.engine)  # type: ignore[attr-defined]


def test_scorecard_page__charts_from_the_register(web: TestClient) -> None:
    """With stored reports, dumps and plans, each indicator has a chart against its target, with
    the decimal comma in Vietnamese."""
    _store_registers(web)
    html = web.get(f"/wards/{LE_CHAN_WARD}/scorecard").text
    charts = re.findall(r'<figure class="trend-card" id="trend-([a-z_]+)"', html)
    assert charts == [*list(sc.INDICATORS)[:4], "median_hours", *list(sc.INDICATORS)[4:]]
    resolved = html[html.index('id="trend-reports_resolved"') :]
    resolved = resolved[: resolved.index("</figure>")]
    assert "<svg" in resolved and 'class="target"' in resolved
    assert "Mục tiêu 2030: 100%" in resolved
    assert "66,7%" in resolved  # April: 2 of 3 reports resolved
    assert "04/2026" in resolved
    english = web.get(f"/wards/{LE_CHAN_WARD}/scorecard?lang=en").text
    assert "66.7%" in english and "2030 target: 100%" in english


def test_report_html__every_indicator_with_trend_groups_and_caveats(web: TestClient) -> None:
    """The report names the ward and the date, has every indicator with its lead unit, target,
    value and chart, the group table, the caveats (the sample label) and OSM's attribution."""
    _store_registers(web)
    answer = web.get(f"/wards/{LE_CHAN_WARD}/scorecard/report")
    assert answer.status_code == 200
    html = answer.text
    assert "Báo cáo mục tiêu 2030" in html and "Phường Lê Chân" in html
    assert "@page" in html and "A4" in html
    for target in sc.INDICATORS.values():
        assert html.count(target.name_vi) >= 2  # the table and its trend section
        assert target.lead_unit_vi in html
        section = html[html.index(f'id="trend-{target.key}"') :]
        assert "<svg" in section[: section.index("</section>")]
    assert "Lưu ý về số liệu" in html and "MẪU HÀ NỘI" in html
    assert "Theo tổ dân phố" in html
    assert "© OpenStreetMap contributors" in html
    assert "01/2026 – " in html  # the period: from the first record's month


def _pdf_text(body: bytes) -> tuple[int, str]:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(BytesIO(body))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return len(reader.pages), unicodedata.normalize("NFC", text)


def test_report_pdf__vietnamese_text_and_pages(web: TestClient) -> None:
    """The PDF has several A4 pages with the ward's name and the indicators in Vietnamese."""
    pytest.importorskip("weasyprint")
    _store_registers(web)
    answer = web.get(f"/wards/{LE_CHAN_WARD}/scorecard/report.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    pages, text = _pdf_text(answer.content)
    assert pages > 1
    flat = re.sub(r"\s+", " ", text)
    assert "Phường Lê Chân" in flat
    for name in (
        "Tổ dân phố có đủ điểm tập kết",
        "Điểm đổ rác tự phát được xóa bỏ",
        "Phản ánh về rác được xử lý xong",
        "Lưu ý về số liệu",
    ):
        assert name in flat, name


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/wards/99999/scorecard/report", 404),
        ("/wards/abc/scorecard/report.pdf", 404),
        ("/sample/scorecard/report?freq=week", 422),
        ("/sample/scorecard/report?lang=fr", 422),
    ],
)
def test_report__bad_input_is_4xx(web: TestClient, url: str, status: int) -> None:
    """Unknown wards and options answer 4xx with a page, never a traceback."""
    answer = web.get(url)
    assert answer.status_code == status
    assert "Traceback" not in answer.text


def test_report__english_and_quarters(web: TestClient) -> None:
    """?lang=en gives the English report; ?freq=quarter labels the series by quarter."""
    _store_registers(web)
    html = web.get(f"/wards/{LE_CHAN_WARD}/scorecard/report?lang=en&freq=quarter").text
    assert '<html lang="en">' in html
    assert "Households within walking distance of a gathering point" in html
    assert "Q1/2026" in html


def test_trend_svg__gaps_and_negative_values() -> None:
    """A None value breaks the line; a negative cut stretches the axis below zero."""
    svg = trend_svg(
        trend_geometry(
            [("01", 10.0), ("02", None), ("03", -12.0), ("04", 35.0)],
            target=30.0,
            fmt=lambda x: f"{x:g}",
            title="cut",
            target_label="target",
            empty_label="no data",
        )
    )
    assert svg.count('<polyline class="value"') == 2
    assert "-20%" in svg  # the axis goes down to the round number below -12
    assert 'class="last"' in svg and ">35%</text>" in svg
    empty = trend_svg(
        trend_geometry(
            [("01", None)], target=None, fmt=str, title="t", target_label="", empty_label="no data"
        )
    )
    assert "no data" in empty and "polyline" not in empty


def test_cli_scorecard__writes_the_pdf(engine: Any, db_url: str, tmp_path: Path) -> None:
    """``gomrac scorecard WARD --pdf FILE`` writes the same report from the database; without an
    output file it says what to give, in one line."""
    pytest.importorskip("weasyprint")
    from gomrac.api.cli import main
    from tests.api.test_scorecard_over_time import _store_history

    _store_history(engine)
    out = tmp_path / "lc.pdf"
    assert main(["scorecard", "Lê Chân", "--pdf", str(out), "--database-url", db_url]) == 0
    _, text = _pdf_text(out.read_bytes())
    flat = re.sub(r"\s+", " ", text)
    assert "Phường Lê Chân (11383)" in flat
    assert "66,7%" in flat  # 2 of 3 stored reports resolved
    assert main(["scorecard", "Lê Chân", "--database-url", db_url]) == 2


def test_report__until_a_past_day(web: TestClient) -> None:
    """?until=2026-03-31 gives the report as it stood at the end of March: both reports made by
    then resolved, the dump not yet closed; a bad date is a 422."""
    _store_registers(web)
    html = web.get(f"/wards/{LE_CHAN_WARD}/scorecard/report?until=2026-03-31").text
    assert "01/2026 – 31/03/2026" in html
    row = html[html.index('<tr id="ind-reports_resolved"') :]
    row = row[: row.index("</tr>")]
    assert "100%" in row and "2 / 2" in row
    dumps = html[html.index('<tr id="ind-dumps_closed"') :]
    assert "0%" in dumps[: dumps.index("</tr>")]
    assert web.get(f"/wards/{LE_CHAN_WARD}/scorecard/report?until=31-03").status_code == 422
