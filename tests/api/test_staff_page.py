"""The staff page ``/can-bo``: a Vietnamese shell (English with ?lang=en) for staff.js."""

from __future__ import annotations

import json
import re
from typing import Any

LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)


def _config(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="gomrac-config" type="application/json">(.*?)</script>', html)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_staff_page__vietnamese_shell_with_its_words(client: Any) -> None:
    """The page is served without a token: a sign-in form and the sections staff.js fills, in
    Vietnamese, with every script from the app itself; the front page links to it."""
    page = client.get("/can-bo")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="vi">' in html
    for text in (
        "Đăng nhập",
        "Tên đăng nhập",
        "Mật khẩu",
        "Phản ánh của người dân",
        "Lập kế hoạch",
    ):
        assert text in html
    scripts = re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert scripts == ["/static/staff.js"]
    assert "http" not in "".join(re.findall(r'<link[^>]* href="([^"]+)"', html))
    config = _config(html)
    assert config["lang"] == "vi" and config["ward"] is None
    assert config["words"]["err_sign_in"] == "Sai tên đăng nhập hoặc mật khẩu."
    assert config["steps"]["verified"] == "Đang xử lý (đã xác minh)"
    assert config["ward_names"][LE_CHAN_WARD] == "Phường Lê Chân"
    assert config["services"]["overflowing_point"] == "Điểm tập kết rác bị tràn"
    script = client.get("/static/staff.js")
    assert script.status_code == 200
    assert "sessionStorage" in script.text and "localStorage" not in script.text
    front = client.get("/").text
    assert 'href="/can-bo"' in front and "Cán bộ đăng nhập" in front


def test_staff_page__english_and_ward(client: Any) -> None:
    """``?lang=en`` gives the English words; ``?ward=`` picks the plans' ward, and a value that
    is not a ward code is ignored rather than refused."""
    english = client.get(f"/can-bo?lang=en&ward={LE_CHAN_WARD}")
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    config = _config(english.text)
    assert config["ward"] == LE_CHAN_WARD
    assert config["words"]["sign_in"] == "Sign in"
    assert config["steps"]["cleaned"] == "Fixed (cleaned up)"
    assert f'href="/can-bo?lang=vi&amp;ward={LE_CHAN_WARD}"' in english.text
    odd = client.get("/can-bo?ward=../../etc")
    assert odd.status_code == 200
    assert _config(odd.text)["ward"] is None
