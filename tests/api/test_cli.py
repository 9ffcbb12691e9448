"""The command line as a user runs it: summaries with sources, errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "GOMRAC_OFFLINE": "1"}
SUMMARY_KEYS = {
    "ward",
    "boundary_source",
    "area_km2",
    "truck_road_km",
    "cart_road_km",
    "truck_nodes",
    "truck_edges",
    "cart_nodes",
    "cart_edges",
    "buildings",
    "population",
    "households",
    "waste_t_per_day",
    "schools",
    "markets",
    "hospitals",
    "water_bodies",
    "data_sources",
}


def gomrac(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the installed command line offline."""
    return subprocess.run(
        [sys.executable, "-m", "gomrac.api.cli", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
        check=False,
    )


def test_ward_summary__le_chan_without_roads() -> None:
    """Lê Chân: the real boundary and census, sources named, and how to get its road extract."""
    run = gomrac("ward", "summary", "Le Chan", "--json")
    assert run.returncode == 0, run.stderr
    s = json.loads(run.stdout)
    assert set(s) >= SUMMARY_KEYS
    assert s["ward"] == "Phường Lê Chân" and s["boundary_source"] == "official_map_2025"
    assert s["area_km2"] == pytest.approx(5.6, abs=0.1)
    assert 90_000 < s["population"] < 160_000  # 2009 census by areal interpolation
    assert s["households"] == pytest.approx(s["population"] / 3.3, rel=0.01)
    assert s["truck_road_km"] is None and "osmium extract" in s["data_sources"]["roads"]
    assert s["schools"] > 0  # from the OSM points of interest (HOT export)
    assert "no road network" in run.stderr


def test_ward_summary__hanoi_sample(hanoi_sample_file) -> None:
    """The Hanoi sample: both networks from the real extract, buildings from the Văn Miếu export."""
    run = gomrac("ward", "summary", "--boundary", str(hanoi_sample_file), "--json")
    assert run.returncode == 0, run.stderr
    s = json.loads(run.stdout)
    assert s["data_sources"]["roads"] == "file:hanoi_central_streets_2023-12-13.osm"
    assert s["truck_nodes"] > 1000 and s["cart_edges"] > 3 * s["truck_edges"]
    assert s["cart_road_km"] > s["truck_road_km"] > 100
    assert s["buildings"] > 400
    assert "OpenStreetMap" in " ".join(s["data_sources"]["attribution"])


def test_unknown_ward__exit_2_with_suggestions() -> None:
    """A misspelt ward fails with status 2 and the closest names."""
    run = gomrac("ward", "summary", "Le Chanh", "--json")
    assert run.returncode == 2
    assert "Lê Chân" in run.stderr and run.stdout == ""


def test_wards__lists_114() -> None:
    """`gomrac wards --json` lists all 114 units."""
    run = gomrac("wards", "--json")
    assert run.returncode == 0
    rows = json.loads(run.stdout)
    assert len(rows) == 114
    assert {"code", "name", "unit_type", "area_km2", "boundary_source"} <= set(rows[0])


def test_points_plan__json_keys(vanmieu_boundary, tmp_path) -> None:
    """`points plan` prints the issue's keys on stdout as clean JSON and writes its files."""
    run = gomrac(
        "points",
        "plan",
        "--boundary",
        str(vanmieu_boundary),
        "--out",
        str(tmp_path),
        "--json",
        "--time-limit",
        "20",
        "--curve",
        "2,8",
    )
    assert run.returncode == 0, run.stderr
    s = json.loads(run.stdout)
    for key in (
        "households",
        "covered_before_pct",
        "covered_after_pct",
        "new_points",
        "max_walk_m",
        "mean_walk_m",
        "bins_660l",
        "objective",
        "bound",
        "gap_pct",
        "solve_s",
    ):
        assert key in s
    assert [r["p"] for r in s["curve"]] == [2, 8]
    assert (tmp_path / "points_map.html").exists()
    assert "OpenStreetMap" in (tmp_path / "points_map.html").read_text(encoding="utf-8")


def test_users_add__reads_password_from_stdin(tmp_path, monkeypatch, capsys) -> None:
    """`gomrac users add` creates an account that can sign in; an unknown ward is refused."""
    import io

    from fastapi.testclient import TestClient

    from gomrac.api.cli import main
    from gomrac.api.main import create_app
    from gomrac.geo.settings import Settings

    url = f"sqlite:///{tmp_path / 'g.sqlite'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("một mật khẩu dài đủ\n"))
    args = ["users", "add", "lan", "--role", "ward_office", "--ward", "11383"]
    assert main([*args, "--database-url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["wards"] == ["11383"]
    with TestClient(create_app(Settings(database_url=url, media_dir=tmp_path / "m"))) as client:
        ok = client.post(
            "/api/auth/token", data={"username": "lan", "password": "một mật khẩu dài đủ"}
        )
        assert ok.status_code == 200, ok.text
    monkeypatch.setattr("sys.stdin", io.StringIO("một mật khẩu dài đủ\n"))
    bad = ["users", "add", "minh", "--role", "police", "--ward", "99999", "--database-url", url]
    assert main(bad) == 2
    assert "99999" in capsys.readouterr().err
