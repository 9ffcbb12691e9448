"""`gomrac plan`, the main job: Lê Chân without road data falls back to a Hanoi area, labelled."""

from __future__ import annotations

import json

import pytest

import gomrac.api.planning
from gomrac.api.cli import main


def test_plan__le_chan_falls_back_to_labelled_sample(
    vanmieu_boundary, tmp_path, capsys, monkeypatch
) -> None:
    """No Lê Chân roads offline: the plan says so, runs on the sample and labels every output."""
    monkeypatch.setenv("GOMRAC_OFFLINE", "1")
    monkeypatch.setattr(
        gomrac.api.planning, "HANOI_SAMPLE", str(vanmieu_boundary)
    )  # a 1 km² stand-in
    status = main(
        [
            "plan",
            "Lê Chân",
            "--sample-if-missing",
            "--out",
            str(tmp_path),
            "--time-limit",
            "5",
            "--budget",
            "4",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0
    assert "no road data for Lê Chân" in err and "HANOI SAMPLE AREA" in err
    # one line per step, in order, with the share of the plan behind it
    steps = [line.split("%  ", 1) for line in err.splitlines() if "%  " in line]
    names = list(dict.fromkeys(name for _, name in steps))
    assert names == [
        "gathering points",
        "weekly plan per stream",
        "dumping hotspots",
        "cameras",
        "writing the files",
    ]
    shares = [int(head.split()[-1]) for head, _ in steps]
    assert shares == sorted(shares) and shares[0] == 0 and shares[-1] == 100
    result = json.loads(out)
    assert result["hanoi_sample"] is True and "Hanoi sample, not Hai Phong" in result["label"]
    assert set(result["synthetic_layers"]) == {"dumping reports", "existing cameras"}
    assert result["points"]["new_points"] > 0
    week = result["week"]
    assert week["check_violations"] == 0, week["check_messages"]
    assert set(week["streams"]) == {"food", "recyclable", "residual"}
    assert week["points"] == result["points"]["new_points"] + week["unplanned_points"]
    assert (
        result["cameras"]["covered_weight_pct"] >= result["cameras"]["baseline_densest_cells_pct"]
    )
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in page and "SYNTHETIC" in page
    assert "Hanoi sample" in page
    schedule = (tmp_path / "week" / "lich_thu_gom" / "lich_thu_gom.html").read_text(
        encoding="utf-8"
    )
    assert "MẪU" in schedule and "Lịch thu gom" in schedule
    assert list((tmp_path / "week" / "gpx").glob("*.gpx"))
    assert list((tmp_path / "week" / "lich_thu_gom" / "ics").glob("*.ics"))


def test_plan__without_fallback_explains(tmp_path, monkeypatch, capsys) -> None:
    """Without --sample-if-missing the command stops with the way to get an extract."""
    monkeypatch.setenv("GOMRAC_OFFLINE", "1")
    status = main(["plan", "Lê Chân", "--out", str(tmp_path)])
    assert status == 2
    assert "osmium extract" in capsys.readouterr().err


def test_plan_ward__week_progress_and_stop_between_day_problems(vanmieu_data, settings) -> None:
    """`plan_ward` reports the weekly stage's progress after each day problem, between its
    start and the hotspots' share; an exception from `on_stage` there (a cancelled job) stops
    the plan before its hotspots."""
    import warnings

    from gomrac.api.planning import WEEK_SHARE, WEEK_STARTS, PlanOptions, plan_ward

    class Cancelled(Exception):
        pass

    seen: list[tuple[str, float]] = []

    def on_stage(name: str, done: float) -> None:
        seen.append((name, done))
        if sum(1 for n, _ in seen if n == "week") == 4:
            raise Cancelled

    with warnings.catch_warnings(), pytest.raises(Cancelled):
        warnings.simplefilter("ignore")
        plan_ward(
            vanmieu_data,
            settings=settings,
            options=PlanOptions(time_limit_s=2, camera_budget=2),
            is_sample=True,
            on_stage=on_stage,
        )
    names = [n for n, _ in seen]
    assert names == ["points", "week", "week", "week", "week"]
    week = [d for n, d in seen if n == "week"]
    assert week[0] == WEEK_STARTS
    assert week == sorted(week)
    assert WEEK_STARTS < week[1] < week[3] < WEEK_STARTS + WEEK_SHARE
