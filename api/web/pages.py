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
``/phan-anh/{id}``                 follow a report: what the public Open311 lookup shows
                                   of it, in words (``/phan-anh?so=N``: the lookup box)
``/can-bo``                        staff: sign in, the wards' reports and their workflow,
                                   the ward's plan runs (``staff.js`` and the staff API)
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

import datetime as dt
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from gomrac.analysis import scorecard as sc
from gomrac.analysis.errors import ConfigError, DataNotFoundError
from gomrac.analysis.scorecard import NO_WEEKLY_BASELINE
from gomrac.api.scorecard import (
    NO_RECORDS,
    SAMPLE_CAVEAT,
    StoredRecords,
    group_rows,
    series_of,
    stored_records,
    ward_scorecard,
)
from gomrac.api.templating import web_environment
from gomrac.api.web import layers
from gomrac.api.web.catalogue import catalogue as service_catalogue
from gomrac.api.web.charts import trend_geometry, trend_svg
from gomrac.api.web.intake import parse_report_id
from gomrac.api.web.reports import HAIPHONG_TZ, service_request
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.lookup import ward_index
from gomrac.geo.models import Report
from gomrac.geo.osm import OSM_ATTRIBUTION

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from gomrac.analysis.scorecard import Indicator
    from gomrac.api.planning import WardPlan
    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)

HERE: Final = Path(__file__).resolve().parent.parent
#: Folder served at ``/static``: the app's own scripts and styles, and ``vendor/leaflet``.
STATIC_DIR: Final = HERE / "static"
LEAFLET_FILES: Final = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css")
_CODE: Final = re.compile(r"\d{5}")

templates = Jinja2Templates(env=web_environment())

Lang = Literal["vi", "en"]
LangQuery = Annotated[Lang, Query(description="page language: vi (default) or en")]
Freq = Literal["month", "quarter"]
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
    "trends": {"vi": "Diễn biến theo thời gian", "en": "Over time"},
    "trends_hint": {
        "vi": "Giá trị cuối mỗi tháng, tính từ số liệu đã lưu (phản ánh, điểm đổ rác, kế hoạch "
        "đã lưu); đường nét đứt màu đỏ là mục tiêu 2030.",
        "en": "Value at the end of each month, from stored records (reports, dump sites, saved "
        "plans); the dashed red line is the 2030 target.",
    },
    "trend_target": {"vi": "Mục tiêu 2030", "en": "2030 target"},
    "median_hours": {"vi": "Thời gian xử lý trung vị (giờ)", "en": "Median time to resolve (h)"},
    "synthetic_dumps": {"vi": "điểm đổ rác", "en": "dump sites"},
    "no_series": {"vi": "Chưa có diễn biến theo thời gian", "en": "No series over time"},
    "groups_title": {"vi": "Theo tổ dân phố", "en": "Per residential group"},
    "g_households": {"vi": "Số hộ", "en": "Households"},
    "g_points": {"vi": "Điểm tập kết phục vụ / cần có", "en": "Points serving / needed"},
    "g_walk": {"vi": "Hộ trong tầm đi bộ", "en": "Households within walk"},
    "g_enough": {"vi": "Đủ điểm tập kết", "en": "Enough points"},
    "g_collected": {"vi": "Hộ được thu gom theo tuyến", "en": "Households on a route"},
    "g_reports": {"vi": "Phản ánh đã xử lý / tổng", "en": "Reports resolved / all"},
    "g_median": {"vi": "Trung vị (giờ)", "en": "Median (h)"},
    "g_dumps": {"vi": "Điểm đổ rác đã xóa / tổng", "en": "Dump sites closed / all"},
    "g_trend": {
        "vi": "Diễn biến: phản ánh đã xử lý · điểm đổ rác đã xóa",
        "en": "Over time: reports resolved · dump sites closed",
    },
    "yes": {"vi": "Có", "en": "Yes"},
    "no": {"vi": "Chưa", "en": "No"},
    "no_groups": {
        "vi": "Phường chưa có danh sách tổ dân phố.",
        "en": "There is no list of residential groups for this ward.",
    },
    "report_title": {"vi": "Báo cáo mục tiêu 2030", "en": "2030 scorecard report"},
    "open_report": {"vi": "Báo cáo in (HTML)", "en": "Printable report (HTML)"},
    "open_pdf": {"vi": "Báo cáo PDF", "en": "PDF report"},
    "report_date": {"vi": "Ngày lập", "en": "Date"},
    "report_period": {"vi": "Kỳ theo dõi", "en": "Period"},
    "report_ward": {"vi": "Phường/xã", "en": "Ward"},
    "caveats": {"vi": "Lưu ý về số liệu", "en": "Data caveats"},
    "current": {"vi": "Giá trị hiện tại", "en": "Current value"},
    "caveat_series": {
        "vi": "Diễn biến theo thời gian chỉ dùng số liệu đã lưu: phản ánh tính là đã xử lý từ "
        "lúc được đóng, điểm đổ rác tính là đã xóa từ lần cập nhật đóng, chỉ tiêu theo kế hoạch "
        "lấy từ kế hoạch mới nhất đã lưu tới ngày đó.",
        "en": "The series uses stored records only: a report counts as resolved from when it was "
        "closed, a dump site as closed from its closing update, planned indicators come from "
        "the newest plan stored by that date.",
    },
    "caveat_current": {
        "vi": "Giá trị hiện tại của chỉ tiêu theo kế hoạch lấy từ kế hoạch đang hiển thị trên "
        "máy chủ, có thể khác kế hoạch đã lưu gần nhất.",
        "en": "The current planned values come from the plan this server shows, which may "
        "differ from the newest stored plan.",
    },
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
    "follow_title": {"vi": "Theo dõi phản ánh", "en": "Follow a report"},
    "follow_number": {"vi": "Số phản ánh", "en": "Report number"},
    "follow_go": {"vi": "Xem tình trạng", "en": "See its status"},
    "follow_link": {"vi": "Theo dõi phản ánh này", "en": "Follow this report"},
    "follow_heading": {"vi": "Phản ánh số", "en": "Report number"},
    "follow_bad_number": {
        "vi": "Số phản ánh không hợp lệ: hãy nhập số đã nhận khi gửi phản ánh.",
        "en": "Not a report number: enter the number you got when you sent the report.",
    },
    "follow_unknown": {
        "vi": "Không tìm thấy phản ánh có số này.",
        "en": "No report has this number.",
    },
    "follow_pending": {
        "vi": "Phường đã nhận phản ánh và đang xem xét. Nội dung phản ánh sẽ được hiển thị "
        "sau khi cán bộ phường duyệt.",
        "en": "The ward has received the report and is reviewing it. Its content is shown "
        "once a ward officer has published it.",
    },
    "follow_state": {"vi": "Tình trạng", "en": "Status"},
    "follow_pending_step": {
        "vi": "Đã tiếp nhận, đang chờ phường duyệt",
        "en": "Received, awaiting the ward's review",
    },
    "follow_open311": {"vi": "Trạng thái (Open311)", "en": "Status (Open311)"},
    "follow_open": {"vi": "Đang mở", "en": "Open"},
    "follow_closed": {"vi": "Đã đóng", "en": "Closed"},
    "follow_requested": {"vi": "Ngày gửi", "en": "Sent"},
    "follow_updated": {"vi": "Cập nhật lần cuối", "en": "Last updated"},
    "follow_expected": {"vi": "Dự kiến xử lý xong", "en": "Expected by"},
    "follow_note": {"vi": "Ghi chú của phường", "en": "Ward's note"},
    "follow_duplicate_of": {"vi": "Trùng với phản ánh số", "en": "Duplicate of report"},
    "follow_agency": {"vi": "Đơn vị xử lý", "en": "Handled by"},
    "follow_notice": {"vi": "Thông báo", "en": "Notice"},
    "follow_address": {"vi": "Địa chỉ", "en": "Address"},
    "follow_photo_link": {"vi": "Xem ảnh", "en": "See the photo"},
    "follow_synthetic": {
        "vi": "SYNTHETIC: phản ánh giả lập để chạy thử, không phải phản ánh thật.",
        "en": "SYNTHETIC: a simulated report for demonstration, not a real one.",
    },
    # the staff page (/can-bo)
    "staff_title": {
        "vi": "Cán bộ phường: phản ánh và kế hoạch",
        "en": "Ward staff: reports and plans",
    },
    "staff_link": {"vi": "Cán bộ đăng nhập", "en": "Staff sign-in"},
    "staff_sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "staff_username": {"vi": "Tên đăng nhập", "en": "Username"},
    "staff_password": {"vi": "Mật khẩu", "en": "Password"},
    "staff_sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "staff_no_js": {
        "vi": "Trang cán bộ cần bật JavaScript.",
        "en": "The staff page needs JavaScript.",
    },
    "staff_account": {"vi": "Tài khoản", "en": "Account"},
    "staff_role": {"vi": "Vai trò", "en": "Role"},
    "staff_wards": {"vi": "Phường, xã phụ trách", "en": "Wards"},
    "staff_all_wards": {"vi": "tất cả phường, xã", "en": "every ward"},
    "staff_role_ward_office": {"vi": "Cán bộ UBND phường, xã", "en": "Ward office"},
    "staff_role_police": {"vi": "Công an", "en": "Police"},
    "staff_role_waste_company": {"vi": "Đơn vị thu gom", "en": "Waste company"},
    "staff_role_admin": {"vi": "Quản trị", "en": "Administrator"},
    "staff_reports": {"vi": "Phản ánh của người dân", "en": "Residents' reports"},
    "staff_col_number": {"vi": "Số", "en": "No."},
    "staff_col_service": {"vi": "Loại phản ánh", "en": "Service"},
    "staff_col_date": {"vi": "Ngày gửi", "en": "Sent"},
    "staff_col_place": {"vi": "Nơi, phường", "en": "Place, ward"},
    "staff_col_step": {"vi": "Bước xử lý", "en": "Step"},
    "staff_col_publication": {"vi": "Công khai", "en": "Publication"},
    "staff_open": {"vi": "Xem, xử lý", "en": "Open"},
    "staff_no_reports": {"vi": "Chưa có phản ánh nào.", "en": "No reports yet."},
    "staff_prev": {"vi": "Trang trước", "en": "Previous"},
    "staff_next": {"vi": "Trang sau", "en": "Next"},
    "staff_page": {"vi": "Trang", "en": "Page"},
    "staff_reload": {"vi": "Tải lại", "en": "Reload"},
    "staff_report": {"vi": "Phản ánh số", "en": "Report"},
    "staff_close": {"vi": "Đóng", "en": "Close"},
    "staff_description": {"vi": "Nội dung", "en": "Description"},
    "staff_address": {"vi": "Địa chỉ", "en": "Address"},
    "staff_reporter": {"vi": "Người gửi", "en": "Reporter"},
    "staff_agency": {"vi": "Đơn vị xử lý (công khai)", "en": "Handled by (public)"},
    "staff_change_step": {"vi": "Chuyển bước xử lý", "en": "Change the step"},
    "staff_new_step": {"vi": "Bước mới", "en": "New step"},
    "staff_note": {"vi": "Ghi chú (người dân xem được)", "en": "Note (residents see it)"},
    "staff_duplicate_of": {"vi": "Số phản ánh gốc", "en": "Original report's number"},
    "staff_save": {"vi": "Lưu", "en": "Save"},
    "staff_saved": {"vi": "Đã lưu.", "en": "Saved."},
    "staff_publication": {"vi": "Công khai phản ánh", "en": "Publication"},
    "staff_pub_pending": {"vi": "Chờ duyệt", "en": "Awaiting review"},
    "staff_pub_published": {"vi": "Đã công khai", "en": "Published"},
    "staff_pub_hidden": {"vi": "Đã ẩn", "en": "Hidden"},
    "staff_links": {"vi": "Giao việc và liên kết", "en": "Assignment and links"},
    "staff_unit": {"vi": "Giao cho đơn vị", "en": "Assign to"},
    "staff_unit_none": {"vi": "Chưa giao", "en": "Not assigned"},
    "staff_unit_ward_office": {"vi": "UBND phường, xã", "en": "Ward office"},
    "staff_unit_police": {"vi": "Công an phường, xã", "en": "Ward police"},
    "staff_unit_waste_company": {
        "vi": "Đơn vị thu gom, vận chuyển rác",
        "en": "Waste collection company",
    },
    "staff_unit_environment_company": {
        "vi": "Công ty môi trường đô thị",
        "en": "Urban environment company",
    },
    "staff_agency_name": {
        "vi": "Tên đơn vị người dân thấy (để trống: tên mặc định)",
        "en": "Name residents see (empty: the default)",
    },
    "staff_dump_site": {"vi": "Số điểm đổ rác (sổ theo dõi)", "en": "Dump site number (register)"},
    "staff_camera": {"vi": "Số camera đã ghi hình", "en": "Camera number"},
    "staff_history": {"vi": "Lịch sử xử lý", "en": "History"},
    "staff_col_at": {"vi": "Thời gian", "en": "When"},
    "staff_col_actor": {"vi": "Người thực hiện", "en": "By"},
    "staff_col_field": {"vi": "Nội dung thay đổi", "en": "Change"},
    "staff_col_old": {"vi": "Trước", "en": "Before"},
    "staff_col_new": {"vi": "Sau", "en": "After"},
    "staff_col_note": {"vi": "Ghi chú", "en": "Note"},
    "staff_actor_citizen": {"vi": "Người dân (gửi phản ánh)", "en": "Resident (report sent)"},
    "staff_actor_system:duplicate-check": {
        "vi": "Hệ thống (kiểm tra trùng)",
        "en": "System (duplicate check)",
    },
    "staff_field_workflow_status": {"vi": "Bước xử lý", "en": "Step"},
    "staff_field_publication": {"vi": "Công khai", "en": "Publication"},
    "staff_field_note": {"vi": "Ghi chú", "en": "Note"},
    "staff_field_duplicate_of": {"vi": "Trùng với phản ánh", "en": "Duplicate of"},
    "staff_field_assigned_unit": {"vi": "Đơn vị được giao", "en": "Assigned unit"},
    "staff_field_agency_responsible": {"vi": "Đơn vị xử lý (công khai)", "en": "Public agency"},
    "staff_field_dump_site_id": {"vi": "Điểm đổ rác", "en": "Dump site"},
    "staff_field_camera_id": {"vi": "Camera", "en": "Camera"},
    "staff_plans": {"vi": "Kế hoạch thu gom của phường", "en": "The ward's collection plans"},
    "staff_ward": {"vi": "Phường, xã", "en": "Ward"},
    "staff_ward_code": {"vi": "Mã phường, xã (5 chữ số)", "en": "Ward code (5 digits)"},
    "staff_queue_plan": {"vi": "Lập kế hoạch", "en": "Make a plan"},
    "staff_plan_sample": {
        "vi": "Phường chưa có dữ liệu đường thì lập trên mẫu Hà Nội (ghi rõ là mẫu)",
        "en": "Without the ward's road data, plan the Hanoi sample (labelled as such)",
    },
    "staff_plan_queued": {"vi": "Đã xếp lượt lập kế hoạch số", "en": "Queued plan run"},
    "staff_no_plans": {"vi": "Phường chưa có lần lập kế hoạch nào.", "en": "No plan runs yet."},
    "staff_col_status": {"vi": "Trạng thái", "en": "Status"},
    "staff_col_progress": {"vi": "Tiến độ", "en": "Progress"},
    "staff_col_stage": {"vi": "Bước", "en": "Stage"},
    "staff_col_started": {"vi": "Lập lúc", "en": "Queued at"},
    "staff_col_finished": {"vi": "Xong lúc", "en": "Finished at"},
    "staff_col_by": {"vi": "Người yêu cầu", "en": "Requested by"},
    "staff_col_files": {"vi": "Tệp kết quả", "en": "Files"},
    "staff_cancel": {"vi": "Hủy", "en": "Cancel"},
    "staff_cancelling": {"vi": "đang dừng theo yêu cầu hủy", "en": "stopping as asked"},
    "staff_show_files": {"vi": "Xem tệp", "en": "Show files"},
    "staff_no_files": {"vi": "Không có tệp.", "en": "No files."},
    "staff_sample": {
        "vi": "MẪU HÀ NỘI: kế hoạch chạy trên khu vực mẫu ở Hà Nội, không phải Hải Phòng.",
        "en": "HANOI SAMPLE: planned on the Hanoi sample area, not Hai Phong.",
    },
    "staff_synthetic": {"vi": "Dữ liệu giả lập (SYNTHETIC)", "en": "Synthetic data"},
    "staff_plan_failed": {
        "vi": "Lập kế hoạch không thành công.",
        "en": "The plan could not be made.",
    },
    "staff_technical": {"vi": "Chi tiết kỹ thuật (tiếng Anh)", "en": "Technical detail"},
    "staff_plan_status_queued": {"vi": "Đang chờ", "en": "Queued"},
    "staff_plan_status_running": {"vi": "Đang chạy", "en": "Running"},
    "staff_plan_status_done": {"vi": "Hoàn thành", "en": "Done"},
    "staff_plan_status_failed": {"vi": "Lỗi", "en": "Failed"},
    "staff_plan_status_cancelled": {"vi": "Đã hủy", "en": "Cancelled"},
    "staff_stage_queued": {"vi": "chờ đến lượt", "en": "waiting its turn"},
    "staff_stage_started": {"vi": "bắt đầu", "en": "started"},
    "staff_stage_registers": {"vi": "đọc sổ theo dõi", "en": "reading the registers"},
    "staff_stage_area": {"vi": "tải dữ liệu phường", "en": "loading the ward's data"},
    "staff_stage_points": {"vi": "điểm tập kết", "en": "gathering points"},
    "staff_stage_week": {"vi": "lịch thu gom tuần", "en": "weekly schedule"},
    "staff_stage_hotspots": {"vi": "điểm nóng đổ rác", "en": "dumping hotspots"},
    "staff_stage_cameras": {"vi": "camera giám sát", "en": "cameras"},
    "staff_stage_files": {"vi": "ghi tệp kết quả", "en": "writing the files"},
    "staff_stage_done": {"vi": "xong", "en": "done"},
    "staff_stage_failed": {"vi": "lỗi", "en": "failed"},
    "staff_stage_cancelled": {"vi": "đã hủy", "en": "cancelled"},
    "staff_err_sign_in": {
        "vi": "Sai tên đăng nhập hoặc mật khẩu.",
        "en": "Wrong username or password.",
    },
    "staff_err_locked": {
        "vi": "Đăng nhập sai quá nhiều lần; hãy thử lại sau ít phút.",
        "en": "Too many failed sign-ins; try again in a few minutes.",
    },
    "staff_err_expired": {
        "vi": "Phiên đăng nhập đã hết hạn; hãy đăng nhập lại.",
        "en": "Your session has expired; sign in again.",
    },
    "staff_err_forbidden": {
        "vi": "Tài khoản của bạn không được làm việc này (vai trò hoặc phường, xã khác).",
        "en": "Your account may not do this (another role or ward).",
    },
    "staff_err_not_found": {"vi": "Không tìm thấy.", "en": "Not found."},
    "staff_err_invalid": {
        "vi": "Thông tin chưa hợp lệ, chưa lưu được.",
        "en": "Not saved: something in the form is not valid.",
    },
    "staff_err_duplicate_needed": {
        "vi": "Cần nhập số phản ánh gốc khi đánh dấu trùng.",
        "en": "Give the original report's number to mark a duplicate.",
    },
    "staff_err_duplicate_self": {
        "vi": "Một phản ánh không thể trùng với chính nó.",
        "en": "A report cannot be a duplicate of itself.",
    },
    "staff_err_not_in_register": {
        "vi": "Số này không có trong sổ theo dõi.",
        "en": "That number is not in the register.",
    },
    "staff_err_other_ward": {
        "vi": "Điểm đổ rác hoặc camera này thuộc phường, xã khác.",
        "en": "That dump site or camera is in another ward.",
    },
    "staff_err_cannot_cancel": {
        "vi": "Lần lập kế hoạch này đã xong, không hủy được nữa.",
        "en": "This plan run has finished; it can no longer be cancelled.",
    },
    "staff_err_server": {
        "vi": "Máy chủ không trả lời được; hãy thử lại.",
        "en": "The server could not answer; try again.",
    },
}

#: The service catalogue's notices (`gomrac.api.web.catalogue`, in English) in Vietnamese.
NOTICES_VI: Final[dict[str, str]] = {
    "Ward staff check reports within one working day.": (
        "Cán bộ phường kiểm tra phản ánh trong vòng một ngày làm việc."
    ),
    "Ward staff check reports within two working days.": (
        "Cán bộ phường kiểm tra phản ánh trong vòng hai ngày làm việc."
    ),
    "If the fire spreads call 114. Ward staff check reports the same day.": (
        "Nếu đám cháy lan rộng, hãy gọi 114. Cán bộ phường kiểm tra phản ánh trong ngày."
    ),
    "The collection team is told at its next shift.": (
        "Tổ thu gom được báo trong ca làm việc kế tiếp."
    ),
    "Ward staff inspect the site and add it to the dump-site register.": (
        "Cán bộ phường kiểm tra tại chỗ và ghi điểm này vào sổ theo dõi điểm đổ rác."
    ),
}

#: The ward office's workflow steps as residents read them, Vietnamese and English.
WORKFLOW_WORDS: Final[dict[str, dict[Lang, str]]] = {
    "received": {"vi": "Đã tiếp nhận", "en": "Received"},
    "verified": {"vi": "Đang xử lý (đã xác minh)", "en": "In progress (checked on site)"},
    "assigned": {
        "vi": "Đã lên lịch xử lý (đã giao đơn vị thu gom)",
        "en": "Action scheduled (handed to the collection crew)",
    },
    "cleaned": {"vi": "Đã xử lý xong", "en": "Fixed (cleaned up)"},
    "duplicate": {"vi": "Trùng với một phản ánh khác", "en": "Duplicate of another report"},
    "rejected": {
        "vi": "Không thuộc trách nhiệm của phường",
        "en": "Not the ward's responsibility",
    },
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


#: Leaflet.VectorGrid, which draws the map's large layers from vector tiles (`layers.get_tile`).
VECTORGRID_FILE: Final = "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"


def vectorgrid_installed() -> bool:
    """Whether ``scripts/setup.sh`` has put Leaflet.VectorGrid under ``/static/vendor``.

    Without it the map page draws every layer from GeoJSON.
    """
    return (STATIC_DIR / VECTORGRID_FILE).is_file()


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
        vectorgrid=vectorgrid_installed(),
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


class ReportParams(BaseModel):
    """The printable scorecard report's query: language, series points and last day."""

    lang: Lang = Field(default="vi", description="page language: vi (default) or en")
    freq: Freq = Field(default="month", description="series points: month (default) or quarter")
    until: dt.date | None = Field(
        default=None, description="the report's last day (YYYY-MM-DD; default today)"
    )


ReportQuery = Annotated[ReportParams, Query()]


@router.get("/sample/scorecard/report", response_class=HTMLResponse)
def sample_scorecard_report(request: Request, q: ReportQuery) -> Response:
    """Show the Hanoi sample's printable scorecard report (HTML, A4)."""
    return _report_page(request, None, q, pdf=False)


@router.get("/sample/scorecard/report.pdf")
def sample_scorecard_pdf(request: Request, q: ReportQuery) -> Response:
    """Serve the Hanoi sample's scorecard report as PDF."""
    return _report_page(request, None, q, pdf=True)


@router.get("/wards/{code}/scorecard/report", response_class=HTMLResponse)
def ward_scorecard_report(request: Request, code: str, q: ReportQuery) -> Response:
    """Show a ward's printable scorecard report (HTML, A4): indicators, trends, groups, notes."""
    return _report_page(request, code, q, pdf=False)


@router.get("/wards/{code}/scorecard/report.pdf")
def ward_scorecard_pdf(request: Request, code: str, q: ReportQuery) -> Response:
    """Serve a ward's scorecard report as PDF (periodic reports, the December 2026 review)."""
    return _report_page(request, code, q, pdf=True)


def _scorecard_page(request: Request, code: str | None, lang: Lang) -> HTMLResponse:
    resolved = _resolve(request, code, lang)
    if isinstance(resolved, HTMLResponse):
        return resolved
    key, title, plan = resolved
    ctx = _base_context(request, lang, key)
    ctx.update(
        scorecard_context(
            title=title, key=key, plan=plan, engine=request.app.state.engine, lang=lang
        ),
        plan=plan,
    )
    return templates.TemplateResponse(request, "scorecard.html.j2", ctx)


def _report_page(request: Request, code: str | None, q: ReportParams, *, pdf: bool) -> Response:
    lang, freq, until = q.lang, q.freq, q.until
    resolved = _resolve(request, code, lang)
    if isinstance(resolved, HTMLResponse):
        return resolved
    key, title, plan = resolved
    html = scorecard_report_html(
        title=title,
        key=key,
        plan=plan,
        engine=request.app.state.engine,
        lang=lang,
        freq=freq,
        today=report_end(until),
    )
    if not pdf:
        return HTMLResponse(html)
    try:
        body = pdf_from_html(html)
    except ConfigError as exc:
        return Response(str(exc), status_code=503, media_type="text/plain; charset=utf-8")
    name = f"bao_cao_muc_tieu_2030_{key}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


_REPORT_CSS: Final = STATIC_DIR / "scorecard.css"


def report_end(until: dt.date | None) -> pd.Timestamp | None:
    """Return the end of day `until` in Hai Phong (UTC), never later than now; None for now."""
    if until is None:
        return None
    end = pd.Timestamp(until).tz_localize(sc.LOCAL_TZ) + pd.Timedelta(days=1)
    return min(end.tz_convert("UTC"), pd.Timestamp.now(tz="UTC"))


def scorecard_context(
    *,
    title: str,
    key: str,
    plan: WardPlan | None,
    engine: Engine | None,
    lang: Lang,
    freq: Freq = "month",
    today: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """
    Everything the scorecard page and its report show: indicators, trends, groups, caveats.

    Parameters
    ----------
    title
        The ward's name (or the sample's label).
    key
        The ward code, or `layers.SAMPLE_KEY`.
    plan
        The plan the server shows for the ward; its values are the current ones unless `today`
        is given (otherwise the values are the series' last, from stored records and plans).
    engine
        The database (None: no register).
    lang
        ``vi`` or ``en``.
    freq
        The series' points: ends of months or of quarters.
    today
        The report's date (default: now).
    """
    w = words(lang)
    now = sc.as_utc(today) if today is not None else pd.Timestamp.now(tz="UTC")
    ward_code = None if key == layers.SAMPLE_KEY else key
    records = None
    register_reason: str | None = None
    if ward_code is None:
        register_reason = "the Hanoi sample has no stored register"
    elif engine is None:
        register_reason = "no database"
    else:
        with session_scope(engine) as session:
            records = stored_records(session, ward_code)
    series = series_of(records, freq=freq, today=now) if records is not None else []
    if (plan is not None and today is None) or not series:
        indicators = ward_scorecard(plan, engine=engine, ward_code=ward_code)
    else:
        indicators = series[-1].indicators
    rows = [_indicator_row(i, lang) for i in indicators]
    labels = [_period_label(s.at, freq) for s in series]
    for row in rows:
        target = sc.INDICATORS[row["key"]]
        row["chart"] = (
            trend_svg(
                trend_geometry(
                    list(zip(labels, [s.value(row["key"]) for s in series], strict=True)),
                    target=target.target_pct,
                    fmt=lambda x: _number(x, lang),
                    title=row["name"],
                    target_label=f"{w['trend_target']}: {target.target_text}",
                    empty_label=w["unknown"],
                )
            )
            if series
            else None
        )
    median_chart = None
    if series:
        median_chart = trend_svg(
            trend_geometry(
                list(zip(labels, [s.median_hours for s in series], strict=True)),
                target=None,
                fmt=lambda x: _number(x, lang),
                title=w["median_hours"],
                target_label="",
                empty_label=w["unknown"],
                unit=" h" if lang == "en" else " giờ",
                percent_axis=False,
            )
        )
    groups_db = None
    if plan is None and records is not None and ward_code is not None and engine is not None:
        with session_scope(engine) as session:
            groups_db = store.load_layer(session, kind="residential_groups", ward_code=ward_code)
    groups = group_rows(plan, records, groups=groups_db, at=now, register_reason=register_reason)
    group_table = [_group_row(g, lang) for g in groups]
    # each group's reports resolved and dumps closed at the series' last points, from the records
    trend_at = [s.at for s in series[-GROUP_TREND_POINTS:]] if records is not None else []
    past = {
        at: {
            g.group_id: g
            for g in group_rows(plan, records, groups=groups_db, at=at, counts_only=True)
        }
        for at in trend_at
    }
    for row in group_table:
        row["trend"] = [
            {"label": _period_label(at, freq), **_group_counts(past[at].get(row["id"]), lang)}
            for at in trend_at
        ]
    caveats: list[str] = []
    if plan is not None and plan.is_sample:
        caveats.append(w["sample_banner"])
    if plan is not None and plan.synthetic_layers:
        names = ", ".join(SYNTHETIC_NAMES[lang].get(n, n) for n in plan.synthetic_layers)
        caveats.append(w["synthetic_banner"] + names)
    synthetic = _synthetic_records(records, lang=lang) if records is not None else ""
    if synthetic:
        caveats.append(w["synthetic_banner"] + synthetic)
    caveats.append(w["caveat_series"])
    if plan is not None and series and today is None:
        caveats.append(w["caveat_current"])
    no_series_text = None
    if not series:
        no_series_text = f"{w['no_series']}: {_reason(register_reason or NO_RECORDS, lang)}"
        caveats.append(no_series_text)
    for g in groups:
        for r in g.reasons:
            text = _reason(r, lang)
            if text not in caveats and r in (sc.PROXY_GROUPS,):
                caveats.append(text)
    for row in rows:
        if row["reason"]:
            caveats.append(f"{row['name']}: {row['reason']}")
    local = now.tz_convert(sc.LOCAL_TZ)
    if local == local.normalize():  # the end of a day: midnight, shown as that day
        local -= pd.Timedelta(seconds=1)
    first = series[0].at if series else None
    return {
        "title": title,
        "ward_code": ward_code,
        "rows": rows,
        "median_chart": median_chart,
        "groups": group_table,
        "caveats": caveats,
        "date": local.strftime("%d/%m/%Y"),
        "period": (
            f"{_period_label(first, freq)} – {local.strftime('%d/%m/%Y')}" if first else None
        ),
        "freq": freq,
        "has_series": bool(series),
        "no_series_text": no_series_text,
        "sample": plan is not None and plan.is_sample,
        "sample_label": SAMPLE_CAVEAT,
    }


def _synthetic_records(records: StoredRecords, *, lang: Lang = "vi") -> str:
    """Name the stored registers holding synthetic rows ("" when none)."""
    names = []
    if records.report_places["synthetic"].fillna(False).astype(bool).any():
        names.append(SYNTHETIC_NAMES[lang]["dumping reports"])
    if records.dump_places["synthetic"].fillna(False).astype(bool).any():
        names.append(WORDS["synthetic_dumps"][lang])
    return ", ".join(names)


def _reason(text: str, lang: Lang) -> str:
    return (in_vietnamese(text) if lang == "vi" else text) or text


def _period_label(at: pd.Timestamp, freq: Freq) -> str:
    """Label a series date: ``03/2026`` for the end of March, ``Q1/2026`` by quarter.

    A date inside a period (today) reads ``06/12/2026``.
    """
    local = at.tz_convert(sc.LOCAL_TZ)
    if (local.hour, local.minute, local.second, local.day) != (0, 0, 0, 1):
        return local.strftime("%d/%m/%Y")
    before = local - pd.Timedelta(seconds=1)
    if freq == "quarter":
        return f"Q{(before.month - 1) // 3 + 1}/{before.year}"
    return before.strftime("%m/%Y")


#: How many of the series' last points the group table's trend column shows.
GROUP_TREND_POINTS: Final = 4


def _group_counts(g: sc.GroupRow | None, lang: Lang) -> dict[str, str]:
    """Return a group's reports resolved / made and dumps closed / known, as in the table."""
    if g is None:
        return {"reports": "—", "dumps": "—"}
    row = _group_row(g, lang)
    return {"reports": row["reports"], "dumps": row["dumps"]}


def _group_row(g: sc.GroupRow, lang: Lang) -> dict[str, Any]:
    w = words(lang)

    def num(x: float | None) -> str:
        return "—" if x is None else _number(x, lang)

    def pct(x: float | None) -> str:
        return "—" if x is None else _number(x, lang) + "%"

    points = "—"
    if g.points_serving is not None or g.points_needed is not None:
        points = f"{num(g.points_serving)} / {num(g.points_needed)}"
    return {
        "id": g.group_id,
        "name": g.name,
        "households": num(None if g.households is None else round(g.households)),
        "points": points,
        "walk": pct(g.covered_pct),
        "enough": "—" if g.enough is None else (w["yes"] if g.enough else w["no"]),
        "enough_css": "unknown" if g.enough is None else ("met" if g.enough else "not-met"),
        "collected": pct(g.collected_pct),
        "reports": "—" if g.reports is None else f"{num(g.reports_resolved)} / {num(g.reports)}",
        "median": num(g.median_hours),
        "dumps": "—" if g.dumps is None else f"{num(g.dumps_closed)} / {num(g.dumps)}",
        "notes": "; ".join(_reason(r, lang) for r in g.reasons),
    }


def scorecard_report_html(
    *,
    title: str,
    key: str,
    plan: WardPlan | None,
    engine: Engine | None,
    lang: Lang = "vi",
    freq: Freq = "month",
    today: pd.Timestamp | None = None,
) -> str:
    """Render the printable scorecard report (A4 HTML, its style sheet inline)."""
    ctx = scorecard_context(
        title=title, key=key, plan=plan, engine=engine, lang=lang, freq=freq, today=today
    )
    ctx.update(
        lang=lang,
        w=words(lang),
        plan=plan,
        osm_attribution=OSM_ATTRIBUTION,
        attribution=plan.data.attribution() if plan is not None else [OSM_ATTRIBUTION],
        synthetic_names=SYNTHETIC_NAMES[lang],
        css=_REPORT_CSS.read_text(encoding="utf-8"),
    )
    return templates.env.get_template("scorecard_report.html.j2").render(ctx)


def pdf_from_html(html: str) -> bytes:
    """
    Print the report's HTML to PDF with WeasyPrint (A4, the fonts installed on the server).

    Raises
    ------
    ConfigError
        If WeasyPrint (or the Pango library it needs) is not installed.
    """
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        msg = (
            "PDF output needs WeasyPrint and Pango (pip install weasyprint; "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0): {str(exc).splitlines()[0]}"
        )
        raise ConfigError(msg) from None
    pdf: bytes = HTML(string=html, base_url=str(STATIC_DIR)).write_pdf()
    return pdf


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
    sc.NO_PLAN_BY_DATE: "tới ngày này chưa lưu kế hoạch hoàn thành nào cho chỉ tiêu này",
    "the stored points plan does not record coverage per residential group": (
        "kế hoạch điểm tập kết đã lưu không ghi độ phủ theo tổ dân phố"
    ),
    "the stored points plan does not record its coverage": (
        "kế hoạch điểm tập kết đã lưu không ghi độ phủ"
    ),
    "the stored cameras plan does not record the hotspots it covers": (
        "kế hoạch camera đã lưu không ghi số điểm nóng được giám sát"
    ),
    "the stored routes plan does not record the households it serves": (
        "kế hoạch tuyến đã lưu không ghi số hộ được thu gom"
    ),
    "no report made by this date": "tới ngày này chưa có phản ánh nào",
    "no dump site recorded by this date": "tới ngày này chưa ghi nhận điểm đổ rác nào",
    sc.GROUP_HAS_NO_AREA: "tổ dân phố chỉ có một điểm vị trí, chưa có ranh giới",
    sc.PROXY_GROUPS: (
        "ranh giới tổ dân phố được ước tính từ các tòa nhà, không phải ranh giới chính thức"
    ),
    NO_RECORDS: "chưa lưu số liệu có ngày tháng nào cho phường (phản ánh, điểm đổ rác, kế hoạch)",
}
_PATTERNS_VI: Final = (
    (
        re.compile(r"hotspots come from synthetic reports \(the plan would watch (\d+) of (\d+)\)"),
        r"điểm nóng lấy từ phản ánh giả lập (kế hoạch sẽ giám sát \1/\2 điểm)",
    ),
    (re.compile(r"median ([\d.]+) h to resolve"), r"thời gian xử lý trung vị \1 giờ"),
    (
        re.compile(r"([\d.]+) km per day against ([\d.]+) km of today's routes"),
        r"\1 km mỗi ngày so với \2 km của các tuyến hiện nay",
    ),
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
        follow_prefix=FOLLOW_PREFIX,
        hotline=hotline(request.app.state.settings),
        services=services,
        groups=groups,
        config={
            "lang": lang,
            "layers_url": f"{layers.router.prefix}/{key}" if plan is not None else None,
            "post_url": "/open311/v2/requests.json",
            "follow_url": FOLLOW_PREFIX + "/",
            "notices": NOTICES_VI if lang == "vi" else {},
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
                    "follow_link",
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


# --- following a report ----------------------------------------------------------------------

#: Where a report is followed: ``/phan-anh/{id}``; ``/phan-anh?so=<id>`` is the lookup box.
FOLLOW_PREFIX: Final = "/phan-anh"
_STATUS_NOTES: Final = re.compile(r"(?P<step>[a-z]+)(?:: (?P<note>.*))?", re.DOTALL)
_DUPLICATE_NOTE: Final = re.compile(r"duplicate of report \d+(?: \((?P<note>.*)\))?", re.DOTALL)
_AROUND_DEG: Final = 0.004  # the follow map's streets: about 400 m around the report


def public_note(status_notes: str | None) -> str | None:
    """Return the ward's own words in a report's public ``status_notes``, or None.

    ``status_notes`` reads ``"<workflow_status>: <note>"`` (`gomrac.geo.store`); the workflow
    step is shown in words of its own, so only the note is kept, and of a duplicate's note
    (``duplicate of report N (note)``) only what the officer wrote.

    Examples
    --------
    >>> public_note("assigned: xe CL-2 sẽ thu gom chiều nay")
    'xe CL-2 sẽ thu gom chiều nay'
    >>> public_note("duplicate: duplicate of report 12 (cùng đống rác)")
    'cùng đống rác'
    >>> public_note("received") is None
    True
    """
    if not status_notes:
        return None
    match = _STATUS_NOTES.fullmatch(status_notes)
    if match is None or match["step"] not in WORKFLOW_WORDS:
        return status_notes
    note = match["note"]
    if note and match["step"] == "duplicate":
        dup = _DUPLICATE_NOTE.fullmatch(note)
        if dup is not None:
            note = dup["note"]
    return (note.strip() or None) if note else None


def _when(text: str | None) -> str | None:
    """Write a W3C time of the request object as residents read it: ``09:30 25/11/2026``."""
    if not text:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(HAIPHONG_TZ).strftime("%H:%M %d/%m/%Y")


@router.get(FOLLOW_PREFIX, response_class=HTMLResponse)
def follow_lookup(
    request: Request,
    lang: LangQuery = "vi",
    so: Annotated[str, Query(max_length=40, description="the report's number")] = "",
) -> Response:
    """Send the lookup box of the residents' page on to the report's follow page."""
    report_id = parse_report_id("so", so.strip().lstrip("#").strip())
    if report_id is None:
        return _not_found(request, lang, words(lang)["follow_bad_number"])
    suffix = "" if lang == "vi" else "?lang=en"
    return RedirectResponse(f"{FOLLOW_PREFIX}/{report_id}{suffix}", status_code=303)


@router.get(FOLLOW_PREFIX + "/{report_id}", response_class=HTMLResponse)
def follow_report(request: Request, report_id: str, lang: LangQuery = "vi") -> HTMLResponse:
    """Follow a report: what the public Open311 lookup shows of it, in plain words, on a phone.

    A hidden report, and one that does not exist, is a 404 page; a report awaiting the ward's
    review shows only that it was received; a published one shows its Open311 status and the
    ward's workflow step, its dates, the ward's public note, the description, the photo (with
    its metadata removed, when photos are published) and its place on a small map. The
    reporter's contact fields are never read into the page.
    """
    w = words(lang)
    number = parse_report_id("report_id", report_id)
    if number is None:
        return _not_found(request, lang, w["follow_bad_number"])
    settings: Settings = request.app.state.settings
    with session_scope(request.app.state.engine) as session:
        report = session.get(Report, number)
        if report is None or report.publication == "hidden":
            return _not_found(request, lang, w["follow_unknown"])
        pending = report.publication == "pending"
        public = None if pending else service_request(report, request, settings)
        synthetic = bool(report.synthetic)
        own_photo = report.media_url is None and report.photo_path is not None
    path = request.url.path
    ctx: dict[str, Any] = {
        "lang": lang,
        "w": w,
        "q": "" if lang == "vi" else "?lang=en",
        "other_lang_url": f"{path}?lang=en" if lang == "vi" else path,
        "osm_attribution": OSM_ATTRIBUTION,
        "leaflet": leaflet_installed(),
        "synthetic_names": SYNTHETIC_NAMES[lang],
        "plan": None,
        "title": f"{w['follow_heading']} {number}",
        "number": number,
        "follow_prefix": FOLLOW_PREFIX,
        "pending": pending,
        "synthetic": synthetic,
        "report": None,
        "config": None,
        "sample_streets": False,
    }
    if public is None:
        return templates.TemplateResponse(request, "follow.html.j2", ctx)
    extra = public.extended_attributes
    step = extra.workflow_status if extra is not None else None
    ward = extra.ward_code if extra is not None else None
    size_names = {
        key: name
        for s in service_catalogue().services.values()
        if s.code == public.service_code
        for a in s.attributes
        if a.code == "size"
        for key, name in a.values
    }
    answers = extra.attributes if extra is not None else {}
    size = answers.get("size") if isinstance(answers, dict) else None
    media = public.media_url
    plan_key = ward if ward is not None and layers.plan_for(request.app.state, ward) else None
    lat, lon = float(public.lat or 0.0), float(public.long or 0.0)
    streets_url = None
    if plan_key is not None:
        d = _AROUND_DEG
        box_ = f"{lon - d:.6f},{lat - d:.6f},{lon + d:.6f},{lat + d:.6f}"
        streets_url = f"{layers.router.prefix}/{plan_key}/streets.geojson?bbox={box_}"
    ctx["report"] = {
        "service": public.service_name,
        "status": public.status,
        "status_text": w["follow_open"] if public.status == "open" else w["follow_closed"],
        "step": step,
        "step_text": WORKFLOW_WORDS[step][lang] if step in WORKFLOW_WORDS else step,
        "note": public_note(public.status_notes),
        "duplicate_of": extra.duplicate_of if extra is not None else None,
        "requested": _when(public.requested_datetime),
        "updated": _when(public.updated_datetime),
        "expected": _when(public.expected_datetime),
        "description": public.description,
        "size": size_names.get(str(size), str(size)) if size else None,
        "address": public.address,
        "agency": public.agency_responsible,
        "notice": NOTICES_VI.get(public.service_notice or "", public.service_notice)
        if lang == "vi"
        else public.service_notice,
        "photo": media if media is not None and own_photo else None,
        "media_link": media
        if media is not None and not own_photo and media.startswith(("https://", "http://"))
        else None,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
    }
    ward_plan = layers.plan_for(request.app.state, plan_key) if plan_key is not None else None
    ctx["sample_streets"] = bool(ward_plan is not None and ward_plan.is_sample)
    ctx["config"] = {
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "streets_url": streets_url,
        "attribution": OSM_ATTRIBUTION,
        "label": f"{w['follow_heading']} {number}",
        "words": {"no_leaflet": w["no_leaflet"]},
    }
    return templates.TemplateResponse(request, "follow.html.j2", ctx)


#: The staff page: sign-in, the wards' reports and their workflow, the ward's plan runs.
STAFF_PATH: Final = "/can-bo"


@router.get(STAFF_PATH, response_class=HTMLResponse)
def staff_page(
    request: Request,
    lang: LangQuery = "vi",
    ward: Annotated[str, Query(max_length=40, description="the plans' ward (5 digits)")] = "",
) -> HTMLResponse:
    """Staff: sign in, work through the wards' reports, queue and follow the ward's plans.

    The page is a shell; `staff.js` signs in with ``POST /api/auth/token``, keeps the token in
    the tab's ``sessionStorage`` and calls the staff API (``/api/reports``, ``/wards/{code}/
    plans``, ``/plans/{id}``) with it. ``?ward=`` picks the ward of the plans section (a
    value that is not a ward code is ignored).
    """
    w = words(lang)
    ward = ward if _CODE.fullmatch(ward) else ""  # anything else: the account's first ward
    try:
        ward_names = {r.code: r.name for r in ward_index(settings=request.app.state.settings).refs}
    except DataNotFoundError:
        ward_names = {}
    path = request.url.path
    suffix = f"&ward={ward}" if ward else ""
    ctx: dict[str, Any] = {
        "lang": lang,
        "w": w,
        "title": w["staff_title"],
        "other_lang_url": f"{path}?lang=en{suffix}" if lang == "vi" else f"{path}?lang=vi{suffix}",
        "osm_attribution": OSM_ATTRIBUTION,
        "synthetic_names": SYNTHETIC_NAMES[lang],
        "plan": None,
        "config": {
            "lang": lang,
            "ward": ward or None,
            "words": {k.removeprefix("staff_"): v for k, v in w.items() if k.startswith("staff_")},
            "steps": {k: v[lang] for k, v in WORKFLOW_WORDS.items()},
            "services": {code: s.name for code, s in service_catalogue().services.items()},
            "ward_names": ward_names,
            "synthetic_names": SYNTHETIC_NAMES[lang],
        },
    }
    return templates.TemplateResponse(request, "staff.html.j2", ctx)
