"""The published collection schedule per residential group, in Vietnamese (HTML and CSV).

For every residential group (tổ dân phố / thôn): the gathering point its households walk to,
where it is, which waste goes out on which days, by when households bring it out and when the
truck comes. Ready to post at the ward office and on the group's notice board.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from gomrac.analysis.demand import assign_groups
from gomrac.api.routes import COLLECTIONS, STREAM_VI
from gomrac.api.templating import render
from gomrac.geo.osm import OSM_ATTRIBUTION

if TYPE_CHECKING:
    from gomrac.api.pipeline import WardData
    from gomrac.api.routes import RoutesResult

#: Households bring waste out this long before the truck's planned arrival (minutes).
LEAD_MIN = 30
#: Half-width of the announced arrival window (minutes).
WINDOW_MIN = 15
#: The printable page: one table of every group's collections (Jinja2, autoescaped).
_SCHEDULE_TEMPLATE: Final = "lich_thu_gom_bang.html.j2"


def schedule_table(
    data: WardData,
    results: list[RoutesResult],
    walks_to: np.ndarray,
    point_names: list[str],
    point_streets: list[str],
) -> pd.DataFrame:
    """One row per residential group and collection: place, days, bring-out time, truck window."""
    demand = data.require_demand()
    groups = data.groups
    gid = assign_groups(demand, groups).to_numpy() if groups is not None else np.zeros(len(demand))
    rows: list[dict[str, Any]] = []
    for res in results:
        streams, days_vi, _ = COLLECTIONS[res.summary["collection"]]
        arrival = {
            int(s.location) - 2: float(s.arrival_s)
            for s in res.stops.itertuples()
            if s.kind == "client"
        }
        vehicle = {
            int(s.location) - 2: str(s.vehicle)
            for s in res.stops.itertuples()
            if s.kind == "client"
        }
        for g in np.unique(gid):
            members = (gid == g) & (walks_to >= 0)
            if not members.any():
                continue
            hh = demand["households"].to_numpy()
            pts = np.unique(walks_to[members])
            weights = np.array([hh[members & (walks_to == p)].sum() for p in pts])
            for p, w in sorted(zip(pts, weights, strict=True), key=lambda t: -t[1]):
                if w < 1 or int(p) not in arrival:
                    continue
                t = arrival[int(p)]
                name = (
                    groups.loc[groups["group_id"] == g, "name"].iloc[0]
                    if groups is not None
                    else "Toàn phường"
                )
                rows.append(
                    {
                        "to_dan_pho": name,
                        "ho_dan": round(float(w)),
                        "diem_tap_ket": point_names[int(p)],
                        "dia_diem": point_streets[int(p)] or "",
                        "loai_rac": ", ".join(STREAM_VI[s] for s in streams),
                        "ngay_thu_gom": days_vi,
                        "mang_rac_ra_truoc": _clock(t - LEAD_MIN * 60),
                        "xe_den_khoang": (
                            f"{_clock(t - WINDOW_MIN * 60)}–{_clock(t + WINDOW_MIN * 60)}"
                        ),
                        "xe_so": vehicle[int(p)],
                    }
                )
    return pd.DataFrame(rows)


def _clock(seconds: float) -> str:
    s = int(round(seconds / 300) * 300) % 86_400  # rounded to 5 minutes
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


HEADERS_VI = {
    "to_dan_pho": "Tổ dân phố",
    "ho_dan": "Số hộ",
    "diem_tap_ket": "Điểm tập kết",
    "dia_diem": "Địa điểm (đường, ngõ)",
    "loai_rac": "Loại rác",
    "ngay_thu_gom": "Ngày thu gom",
    "mang_rac_ra_truoc": "Mang rác ra trước",
    "xe_den_khoang": "Xe thu gom đến khoảng",
    "xe_so": "Xe số",
}


def write_schedule(
    table: pd.DataFrame, out: Path, *, ward: str, notes: list[str]
) -> dict[str, str]:
    """Write the schedule as CSV (UTF-8 with BOM for Excel) and as a printable HTML page.

    The page is rendered from the autoescaped template ``templates/lich_thu_gom_bang.html.j2``.
    """
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "lich_thu_gom.csv"
    table.rename(columns=HEADERS_VI).to_csv(csv_path, index=False, encoding="utf-8-sig")
    page = render(
        _SCHEDULE_TEMPLATE,
        ward=ward,
        headers=[HEADERS_VI[c] for c in table.columns],
        rows=[[str(v) for v in row] for row in table.itertuples(index=False)],
        notes=notes,
        made_on=f"{date.today():%d/%m/%Y}",
        osm_attribution=OSM_ATTRIBUTION,
    )
    html_path = out / "lich_thu_gom.html"
    html_path.write_text(page, encoding="utf-8")
    return {"schedule_csv": str(csv_path), "schedule_html": str(html_path)}
