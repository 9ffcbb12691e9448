"""The ward's web pages: the map, the 2030 scorecard and the residents' page (HTML).

Vietnamese first; ``?lang=en`` gives English. Every script and style sheet is served by the
app itself under ``/static`` (Leaflet under ``/static/vendor/leaflet``, installed by
``scripts/setup.sh``); with no internet the map draws the ward's own streets and buildings as
its base layer, from `gomrac.api.web.layers`.

=================================  =====================================================
page                               what
=================================  =====================================================
``/wards/{code}/map``              the ward's plan on a map (``/sample/map``: Hanoi
                                   sample), one service day at a time (``?day=0..6``)
``/wards/{code}/scorecard``        the 2030 indicators, printable (``/sample/scorecard``)
``/wards/{code}``                  residents: my group's collection days and times per
                                   waste stream, hotline, a report form posting to
                                   ``/open311/v2/requests.json`` (``/sample``)
``/wards/{code}/lich/to_N.ics``    group N's calendar, when the plan's week was written
=================================  =====================================================

The map shows the routes and stops of one service day of the weekly plan (``?day=0`` for
Monday, the default, to ``6``), one layer per waste stream. The residents' schedule is the
published one (`gomrac.api.weekly.schedule_rows`); a group's ``.ics`` link is given only when
the plan's week was written (`gomrac.api.web.layers.register_plan` with ``week_dir``) and the
file is there.

The hotline shown to residents is ``Settings.ward_hotline`` (``GOMRAC_WARD_HOTLINE``); when it
is unset the page says no hotline is set.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from gomrac.analysis.errors import DataNotFoundError
from gomrac.analysis.scorecard import NO_WEEKLY_BASELINE
from gomrac.api.scorecard import ward_scorecard
from gomrac.api.web import layers
from gomrac.api.web.catalogue import catalogue as service_catalogue
from gomrac.geo.lookup import ward_index
from gomrac.geo.osm import OSM_ATTRIBUTION

if TYPE_CHECKING:
    from gomrac.analysis.scorecard import Indicator
    from gomrac.api.planning import WardPlan
    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)

HERE: Final = Path(__file__).resolve().parent.parent
TEMPLATES_DIR: Final = HERE / "templates" / "web"
#: Folder served at ``/static``: the app's own scripts and styles, and ``vendor/leaflet``.
STATIC_DIR: Final = HERE / "static"
LEAFLET_FILES: Final = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css")
_CODE: Final = re.compile(r"\d{5}")

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)

Lang = Literal["vi", "en"]
LangQuery = Annotated[Lang, Query(description="page language: vi (default) or en")]
_ICS_NAME: Final = re.compile(r"to_(\d{1,9})\.ics")

#: The pages' words, Vietnamese and English.
WORDS: Final[dict[str, dict[Lang, str]]] = {
    "map_title": {"vi": "Bản đồ thu gom rác", "en": "Waste collection map"},
    "scorecard_title": {"vi": "Bảng theo dõi mục tiêu 2030", "en": "2030 scorecard"},
    "resident_title": {"vi": "Thu gom rác ở khu phố của tôi", "en": "Waste collection near me"},
    "layers": {"vi": "Lớp bản đồ", "en": "Layers"},
    "trucks": {"vi": "Xe thu gom", "en": "Trucks"},
    "truck": {"vi": "Xe", "en": "Truck"},
    "all": {"vi": "Tất cả", "en": "All"},
    "none": {"vi": "Bỏ chọn", "en": "None"},
    "loading": {"vi": "Đang tải lớp bản đồ…", "en": "Loading layers…"},
    "loaded": {"vi": "Đã tải xong các lớp", "en": "Layers loaded"},
    "no_leaflet": {
        "vi": "Chưa cài thư viện bản đồ Leaflet trên máy chủ (chạy scripts/setup.sh).",
        "en": "The Leaflet map library is not installed on the server (run scripts/setup.sh).",
    },
    "sample_banner": {
        "vi": "MẪU HÀ NỘI: chưa có dữ liệu đường phố Hải Phòng, các lớp dựa trên đường phố "
        "được vẽ trên khu vực mẫu ở trung tâm Hà Nội.",
        "en": "Hanoi sample: there is no Hai Phong street data yet; road-based layers are "
        "drawn on the central-Hanoi sample.",
    },
    "synthetic_banner": {
        "vi": "SYNTHETIC: lớp dữ liệu giả lập để chạy thử, không phải số liệu thật: ",
        "en": "SYNTHETIC: simulated layers for demonstration, not real data: ",
    },
    "indicator": {"vi": "Chỉ tiêu", "en": "Indicator"},
    "lead_unit": {"vi": "Đơn vị chủ trì", "en": "Lead unit"},
    "target": {"vi": "Mục tiêu 2030", "en": "2030 target"},
    "value": {"vi": "Hiện đạt", "en": "Value"},
    "status": {"vi": "Đánh giá", "en": "Status"},
    "notes": {"vi": "Ghi chú", "en": "Notes"},
    "met": {"vi": "Đạt", "en": "Met"},
    "not_met": {"vi": "Chưa đạt", "en": "Not met"},
    "unknown": {"vi": "Chưa có số liệu", "en": "No data"},
    "planned": {"vi": "theo kế hoạch", "en": "planned"},
    "measured": {"vi": "số liệu ghi nhận", "en": "recorded"},
    "print": {"vi": "In bảng", "en": "Print"},
    "hotline": {"vi": "Đường dây nóng của phường", "en": "Ward hotline"},
    "no_hotline": {
        "vi": "Phường chưa công bố số đường dây nóng.",
        "en": "The ward has not published a hotline number.",
    },
    "find_group": {"vi": "Tìm tổ dân phố của tôi", "en": "Find my residential group"},
    "group_hint": {
        "vi": "hoặc chạm vào khu nhà mình, hay vào một điểm tập kết, trên bản đồ bên dưới.",
        "en": "or tap where you live, or a gathering point, on the map below.",
    },
    "choose_group": {"vi": "— Chọn tổ dân phố —", "en": "— Choose a group —"},
    "schedule": {"vi": "Lịch thu gom", "en": "Collection schedule"},
    "no_schedule": {
        "vi": "Chưa có lịch thu gom cho phường này.",
        "en": "There is no collection schedule for this ward yet.",
    },
    "report": {"vi": "Phản ánh về rác", "en": "Report a waste problem"},
    "service": {"vi": "Loại phản ánh", "en": "Problem"},
    "size": {"vi": "Lượng rác", "en": "How much"},
    "description": {"vi": "Mô tả", "en": "Description"},
    "photo": {"vi": "Ảnh chụp", "en": "Photo"},
    "location": {"vi": "Vị trí", "en": "Location"},
    "tap_map": {
        "vi": "Chạm vào bản đồ để chọn vị trí, hoặc",
        "en": "Tap the map to choose the place, or",
    },
    "use_gps": {"vi": "Dùng vị trí hiện tại (GPS)", "en": "Use my location (GPS)"},
    "no_location": {"vi": "Chưa chọn vị trí", "en": "No location chosen"},
    "send": {"vi": "Gửi phản ánh", "en": "Send report"},
    "sending": {"vi": "Đang gửi…", "en": "Sending…"},
    "sent": {"vi": "Đã nhận phản ánh số", "en": "Report received, number"},
    "error": {"vi": "Không gửi được", "en": "Could not send"},
    "gps_error": {"vi": "Không lấy được vị trí GPS", "en": "Could not get the GPS position"},
    "open_map": {"vi": "Bản đồ kế hoạch", "en": "Plan map"},
    "open_scorecard": {"vi": "Mục tiêu 2030", "en": "2030 scorecard"},
    "open_resident": {"vi": "Trang cho người dân", "en": "Residents' page"},
    "other_lang": {"vi": "English", "en": "Tiếng Việt"},
    "no_plan": {
        "vi": "Phường này chưa có kế hoạch thu gom trên máy chủ.",
        "en": "This ward has no collection plan on the server yet.",
    },
    "unknown_ward": {
        "vi": "Không tìm thấy phường/xã có mã này.",
        "en": "No ward or commune has this code.",
    },
    "col_group": {"vi": "Tổ dân phố", "en": "Group"},
    "col_point": {"vi": "Điểm tập kết", "en": "Gathering point"},
    "col_place": {"vi": "Địa điểm", "en": "Where"},
    "col_waste": {"vi": "Loại rác", "en": "Waste"},
    "col_days": {"vi": "Ngày thu gom", "en": "Days"},
    "col_out": {"vi": "Mang rác ra trước", "en": "Bring out before"},
    "col_truck": {"vi": "Xe đến khoảng", "en": "Truck comes"},
    "generated": {"vi": "Lập từ kế hoạch", "en": "From the plan"},
    "day": {"vi": "Ca thu gom ngày", "en": "Collection shift of"},
    "ics": {"vi": "Thêm lịch thu gom vào điện thoại (.ics)", "en": "Add to my calendar (.ics)"},
    "daily": {"vi": "Hằng ngày", "en": "Every day"},
}


#: The synthetic layers a plan names (`WardPlan.synthetic_layers`), as the banner writes them.
SYNTHETIC_NAMES: Final[dict[Lang, dict[str, str]]] = {
    "vi": {"dumping reports": "phản ánh đổ rác", "existing cameras": "camera hiện có"},
    "en": {"dumping reports": "dumping reports", "existing cameras": "existing cameras"},
}


def words(lang: Lang) -> dict[str, str]:
    """Return the pages' words in `lang`."""
    return {k: v[lang] for k, v in WORDS.items()}


def hotline(settings: Settings) -> str | None:
    """Return the ward hotline residents are shown (``GOMRAC_WARD_HOTLINE``), or None when unset."""
    value = settings.ward_hotline
    return (value.strip() or None) if value is not None else None


def leaflet_installed() -> bool:
    """Whether ``scripts/setup.sh`` has put Leaflet under ``/static/vendor/leaflet``."""
    return all((STATIC_DIR / f).is_file() for f in LEAFLET_FILES)


def _ward_name(settings: Settings, code: str) -> str | None:
    try:
        refs = ward_index(settings=settings).refs
    except DataNotFoundError:
        return None
    return next((r.name for r in refs if r.code == code), None)


def _key_of(code: str | None) -> str | None:
    if code is None:
        return layers.SAMPLE_KEY
    return code if _CODE.fullmatch(code) else None


def _base_context(request: Request, lang: Lang, key: str) -> dict[str, Any]:
    path = request.url.path
    root = "/sample" if key == layers.SAMPLE_KEY else f"/wards/{key}"
    return {
        "lang": lang,
        "w": words(lang),
        "q": "" if lang == "vi" else "?lang=en",
        "other_lang_url": f"{path}?lang=en" if lang == "vi" else path,
        "root": root,
        "key": key,
        "osm_attribution": OSM_ATTRIBUTION,
        "leaflet": leaflet_installed(),
        "synthetic_names": SYNTHETIC_NAMES[lang],
    }


def _not_found(request: Request, lang: Lang, message: str) -> HTMLResponse:
    ctx = {
        "lang": lang,
        "w": words(lang),
        "message": message,
        "osm_attribution": OSM_ATTRIBUTION,
    }
    return templates.TemplateResponse(request, "not_found.html.j2", ctx, status_code=404)


def _resolve(
    request: Request, code: str | None, lang: Lang
) -> tuple[str, str, WardPlan | None] | HTMLResponse:
    """Return the key, the page's title and the plan of a ward code (or of the sample)."""
    key = _key_of(code)
    w = words(lang)
    if key is None:
        return _not_found(request, lang, w["unknown_ward"])
    plan = layers.plan_for(request.app.state, key)
    if key == layers.SAMPLE_KEY:
        if plan is None:
            return _not_found(request, lang, w["no_plan"])
        return key, plan.label, plan
    name = _ward_name(request.app.state.settings, key)
    if name is None and plan is None:
        return _not_found(request, lang, w["unknown_ward"])
    return key, name or (plan.label if plan else key), plan


@router.get("/sample/map", response_class=HTMLResponse)
def sample_map(request: Request, lang: LangQuery = "vi", day: layers.DayQuery = 0) -> HTMLResponse:
    """Show the Hanoi sample's plan on a map (routes of service day `day`, 0 = Monday)."""
    return _map_page(request, None, lang, day)


@router.get("/wards/{code}/map", response_class=HTMLResponse)
def ward_map(
    request: Request, code: str, lang: LangQuery = "vi", day: layers.DayQuery = 0
) -> HTMLResponse:
    """Show a ward's plan on a map: streets, points, one service day's routes, cameras."""
    return _map_page(request, code, lang, day)


def _map_page(request: Request, code: str | None, lang: Lang, day: int) -> HTMLResponse:
    resolved = _resolve(request, code, lang)
    if isinstance(resolved, HTMLResponse):
        return resolved
    key, title, plan = resolved
    if plan is None:
        return _not_found(request, lang, words(lang)["no_plan"])
    ctx = _base_context(request, lang, key)
    path = request.url.path
    days = [
        {
            "day": d,
            "name": (layers.WEEKDAYS_VI if lang == "vi" else layers.WEEKDAYS_EN)[d],
            "date": layers.service_day_date(plan, d),
            "url": f"{path}?day={d}" + ("" if lang == "vi" else "&lang=en"),
            "current": d == day,
        }
        for d in range(7)
    ]
    ctx["other_lang_url"] = f"{path}?day={day}" + ("&lang=en" if lang == "vi" else "")
    ctx.update(
        title=title,
        plan=plan,
        days=days,
        config={
            "lang": lang,
            "day": day,
            "layers_url": f"{layers.router.prefix}/{key}?day={day}",
            "words": {
                k: ctx["w"][k]
                for k in ("loading", "loaded", "no_leaflet", "trucks", "truck", "all", "none")
            },
        },
    )
    return templates.TemplateResponse(request, "map.html.j2", ctx)


@router.get("/sample/scorecard", response_class=HTMLResponse)
def sample_scorecard(request: Request, lang: LangQuery = "vi") -> HTMLResponse:
    """Show the Hanoi sample's scorecard (planned indicators only: it has no register)."""
    return _scorecard_page(request, None, lang)


@router.get("/wards/{code}/scorecard", response_class=HTMLResponse)
def ward_scorecard_page(request: Request, code: str, lang: LangQuery = "vi") -> HTMLResponse:
    """Show a ward's 2030 scorecard, printable."""
    return _scorecard_page(request, code, lang)


def _scorecard_page(request: Request, code: str | None, lang: Lang) -> HTMLResponse:
    resolved = _resolve(request, code, lang)
    if isinstance(resolved, HTMLResponse):
        return resolved
    key, title, plan = resolved
    ward_code = None if key == layers.SAMPLE_KEY else key
    indicators = ward_scorecard(plan, engine=request.app.state.engine, ward_code=ward_code)
    ctx = _base_context(request, lang, key)
    ctx.update(title=title, plan=plan, rows=[_indicator_row(i, lang) for i in indicators])
    return templates.TemplateResponse(request, "scorecard.html.j2", ctx)


def _indicator_row(ind: Indicator, lang: Lang) -> dict[str, Any]:
    t = ind.target
    w = words(lang)
    if ind.value is None:
        value, status, css = "—", w["unknown"], "unknown"
    else:
        value = _number(ind.value, lang) + "%"
        if t.comparison == "cut_at_least":
            value = ("−" if ind.value >= 0 else "+") + _number(abs(ind.value), lang) + "%"
        status, css = (w["met"], "met") if ind.met else (w["not_met"], "not-met")
    counts = (
        f"{_number(ind.numerator, lang)} / {_number(ind.denominator, lang)}"
        if ind.numerator is not None and ind.denominator is not None
        else None
    )
    return {
        "key": t.key,
        "name": t.name_vi if lang == "vi" else t.name_en,
        "lead_unit": t.lead_unit_vi if lang == "vi" else t.lead_unit_en,
        "target": t.target_text,
        "value": value,
        "counts": counts,
        "basis": w[ind.basis],
        "status": status,
        "css": css,
        "detail": in_vietnamese(ind.detail) if lang == "vi" else ind.detail,
        "reason": in_vietnamese(ind.reason) if lang == "vi" else ind.reason,
    }


#: The scorecard's reasons and details in Vietnamese (the analysis writes them in English).
REASONS_VI: Final[dict[str, str]] = {
    "no residential groups for this ward": "phường chưa có danh sách tổ dân phố",
    "no households estimated": "chưa ước tính được số hộ",
    "no reports stored for this ward": "chưa có phản ánh nào được lưu cho phường",
    "every stored report is a duplicate of another": "mọi phản ánh đã lưu đều trùng lặp",
    "no stored report has a due time (the services set no expected hours)": (
        "chưa phản ánh nào có hạn xử lý"
    ),
    "no spontaneous dump sites recorded for this ward": "phường chưa ghi nhận điểm đổ rác tự phát",
    "no dumping hotspot found": "không tìm thấy điểm nóng đổ rác",
    NO_WEEKLY_BASELINE: (
        "chưa có số liệu hiện trạng theo tuần: số km thu gom mỗi tuần hiện nay chưa được ghi "
        "nhận, nên chưa thể so sánh mức giảm"
    ),
    "no weighing of sorted waste is recorded for this ward": (
        "phường chưa ghi nhận số cân rác đã phân loại"
    ),
    "the recorded total waste is zero": "tổng lượng rác ghi nhận bằng 0",
    "not computed": "chưa tính",
    "no plan for this ward yet": "phường chưa có kế hoạch",
    "the Hanoi sample has no stored register": "khu vực mẫu Hà Nội không có sổ theo dõi",
    "no database": "không có cơ sở dữ liệu",
    "MẪU HÀ NỘI / Hanoi sample, not Hai Phong": "MẪU HÀ NỘI, không phải Hải Phòng",
}
_PATTERNS_VI: Final = (
    (
        re.compile(r"hotspots come from synthetic reports \(the plan would watch (\d+) of (\d+)\)"),
        r"điểm nóng lấy từ phản ánh giả lập (kế hoạch sẽ giám sát \1/\2 điểm)",
    ),
    (re.compile(r"median ([\d.]+) h to resolve"), r"thời gian xử lý trung vị \1 giờ"),
    (
        re.compile(r"CO₂ ([\d.]+) kg/week against ([\d.]+) kg/week \(−([\d.]+)%\)"),
        r"CO₂ \1 kg/tuần so với \2 kg/tuần (−\3%)",
    ),
    (
        re.compile(r"planned ([\d.]+) km and ([\d.]+) kg CO₂ per week"),
        r"theo kế hoạch \1 km và \2 kg CO₂ mỗi tuần",
    ),
)


def in_vietnamese(text: str | None) -> str | None:
    """Translate a scorecard reason or detail (parts joined by ``"; "``) into Vietnamese."""
    if text is None:
        return None
    parts = []
    for part in text.split("; "):
        out = REASONS_VI.get(part)
        if out is None:
            out = part
            for pattern, repl in _PATTERNS_VI:
                out = pattern.sub(repl, out)
        parts.append(out)
    return "; ".join(parts)


def _number(x: float, lang: Lang) -> str:
    text = f"{x:,.1f}" if abs(x - round(x)) > 1e-9 else f"{round(x):,d}"
    if lang == "vi":  # 1.234,5
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


@router.get("/", response_class=HTMLResponse)
def index(request: Request, lang: LangQuery = "vi") -> HTMLResponse:
    """List the plans this server serves, with their residents' page, map and scorecard."""
    plans: dict[str, Any] = getattr(request.app.state, "ward_plans", None) or {}
    rows = [
        {
            "name": plan.data.area.name,
            "sample": key == layers.SAMPLE_KEY,
            "base": "/sample" if key == layers.SAMPLE_KEY else f"/wards/{key}",
        }
        for key, plan in sorted(plans.items())
    ]
    ctx = {
        "lang": lang,
        "plans": rows,
        "sample_label": "MẪU HÀ NỘI / Hanoi sample",
        "osm_attribution": OSM_ATTRIBUTION,
    }
    return templates.TemplateResponse(request, "index.html.j2", ctx)


@router.get("/sample", response_class=HTMLResponse)
def sample_residents(request: Request, lang: LangQuery = "vi") -> HTMLResponse:
    """Show the residents' page of the Hanoi sample."""
    return _resident_page(request, None, lang)


@router.get("/wards/{code}", response_class=HTMLResponse)
def ward_residents(request: Request, code: str, lang: LangQuery = "vi") -> HTMLResponse:
    """Residents: find my group's collection days and times, the hotline, report a problem."""
    return _resident_page(request, code, lang)


def _resident_page(request: Request, code: str | None, lang: Lang) -> HTMLResponse:
    resolved = _resolve(request, code, lang)
    if isinstance(resolved, HTMLResponse):
        return resolved
    key, title, plan = resolved
    ctx = _base_context(request, lang, key)
    services = [
        {
            "code": s.code,
            "name": s.name,
            "size": [
                {"key": k, "name": n} for a in s.attributes if a.code == "size" for k, n in a.values
            ],
            "size_required": any(a.code == "size" and a.required for a in s.attributes),
        }
        for s in service_catalogue().services.values()
    ]
    groups = (
        schedule_by_group(
            plan,
            week_dir=layers.week_dir_for(request.app.state, key),
            root=ctx["root"],
            lang=lang,
        )
        if plan is not None
        else []
    )
    ctx.update(
        title=title,
        plan=plan,
        hotline=hotline(request.app.state.settings),
        services=services,
        groups=groups,
        config={
            "lang": lang,
            "layers_url": f"{layers.router.prefix}/{key}" if plan is not None else None,
            "post_url": "/open311/v2/requests.json",
            "groups": groups,
            "services": services,
            "words": {
                k: ctx["w"][k]
                for k in (
                    "no_leaflet",
                    "no_location",
                    "sending",
                    "sent",
                    "error",
                    "gps_error",
                    "col_point",
                    "col_place",
                    "col_waste",
                    "col_days",
                    "col_out",
                    "col_truck",
                    "ics",
                )
            },
        },
    )
    return templates.TemplateResponse(request, "resident.html.j2", ctx)


def schedule_by_group(
    plan: WardPlan, *, week_dir: Path | None = None, root: str = "", lang: Lang = "vi"
) -> list[dict[str, Any]]:
    """Return a plan's published schedule by residential group, one row per stream and time.

    The rows come from `gomrac.api.weekly.schedule_rows` (the printed schedule's table): the
    visits of a group's points, gathered by stream, point and announced time, with the days of
    the truck's arrival (``Hằng ngày`` when all seven). Each group carries its area's bounds for
    the map and ``ics``: the address of its calendar file under `root` when `week_dir` holds
    it, else None.
    """
    cache = layers.plan_cache(plan)
    if "schedule" not in cache:
        cache["schedule"] = _schedule_groups(plan)
    base: list[dict[str, Any]] = cache["schedule"]
    out = []
    for g in base:
        ics = None
        name = f"to_{g['group_id']}.ics"
        if week_dir is not None and (week_dir / "lich_thu_gom" / "ics" / name).is_file():
            ics = f"{root}/lich/{name}"
        rows = g["rows"]
        if lang == "en":
            rows = [r | {"days": r["days_en"]} for r in rows]
        out.append(g | {"ics": ics, "rows": rows})
    return out


def _schedule_groups(plan: WardPlan) -> list[dict[str, Any]]:
    from gomrac.api.weekly import schedule_rows

    table = schedule_rows(plan.week)
    groups = plan.data.groups
    bounds: dict[int, list[float]] = {}
    if groups is not None and len(groups) and "group_id" in groups:
        wgs = groups.to_crs(4326)
        for gid, geom in zip(wgs["group_id"], wgs.geometry, strict=True):
            bounds[int(gid)] = [round(v, 6) for v in geom.bounds]
    if table.empty:
        return []
    order = {d: k for k, d in enumerate(layers.WEEKDAYS_VI)}
    streams = {s: k for k, s in enumerate(layers.plan_streams(plan))}
    keys = ["stream", "loai_rac", "diem_tap_ket", "dia_diem", "mang_rac_ra_truoc", "xe_den_khoang"]
    out: list[dict[str, Any]] = []
    for (group, name), mine in table.groupby(["group_id", "to_dan_pho"], sort=True):
        gid = int(str(group))
        rows = []
        for key, grp in mine.groupby(keys, sort=False):
            row: dict[str, Any] = dict(zip(keys, key, strict=True))
            days = sorted(set(grp["thu"]), key=order.__getitem__)
            every = len(days) == len(order)
            rows.append(
                {
                    "stream": row["stream"],
                    "point": row["diem_tap_ket"],
                    "place": row["dia_diem"],
                    "waste": row["loai_rac"],
                    "days": WORDS["daily"]["vi"] if every else ", ".join(days),
                    "days_en": WORDS["daily"]["en"]
                    if every
                    else ", ".join(layers.WEEKDAYS_EN[order[d]] for d in days),
                    "out_before": row["mang_rac_ra_truoc"],
                    "truck": row["xe_den_khoang"],
                    "vehicle": str(grp["xe_so"].iloc[0]),
                    "_first": min(order[d] for d in days),
                }
            )
        rows.sort(key=lambda r: (streams.get(r["stream"], 99), r["point"], r["_first"]))
        out.append(
            {
                "group_id": gid,
                "name": str(name),
                "households": round(float(mine.drop_duplicates("ma_diem")["ho_dan"].sum())),
                "bounds": bounds.get(gid),
                "rows": [{k: v for k, v in r.items() if k != "_first"} for r in rows],
            }
        )
    return out


def _ics_response(request: Request, code: str | None, name: str) -> Response:
    key = _key_of(code)
    match = _ICS_NAME.fullmatch(name)
    folder = layers.week_dir_for(request.app.state, key) if key is not None else None
    path = folder / "lich_thu_gom" / "ics" / name if folder is not None and match else None
    if path is None or not path.is_file():
        msg = f"no calendar file {name!r} for this ward's plan (it was not written)"
        raise DataNotFoundError(msg)
    return Response(
        path.read_bytes(),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/sample/lich/{name}")
def sample_calendar(request: Request, name: str) -> Response:
    """Serve a group's calendar (``to_<group>.ics``) of the Hanoi sample's written plan."""
    return _ics_response(request, None, name)


@router.get("/wards/{code}/lich/{name}")
def ward_calendar(request: Request, code: str, name: str) -> Response:
    """Serve a group's calendar (``to_<group>.ics``) of a ward's written plan."""
    return _ics_response(request, code, name)
