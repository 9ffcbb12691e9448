"""OSM units, conditional restrictions and the network at a moment of the week."""

from __future__ import annotations

import datetime as dt
import math

import networkx as nx
import pytest
from osm_conditionals import closed_by_hand, conditional_ways

from gomrac.geo.network import NetworkRules, routable
from gomrac.geo.restrictions import (
    CLOSED_ATTR,
    WEEK_MIN,
    VehicleProfile,
    WeekTime,
    closed_at,
    closed_between,
    closure_periods,
    covers,
    decode_weekly,
    encode_weekly,
    network_at,
    normalise_weekly,
    parse_conditional,
    parse_length_m,
    parse_weight_t,
)

H = 60  # minutes in an hour
D = 24 * H  # minutes in a day
MO, TU, WE, TH, FR, SA, SU = (i * D for i in range(7))


@pytest.mark.parametrize(
    ("text", "metres"),
    [
        ("3.5", 3.5),
        ("3.5 m", 3.5),
        ("3.5m", 3.5),
        ("350 cm", 3.5),
        ("12'6\"", 12 * 0.3048 + 6 * 0.0254),
        ("12'", 12 * 0.3048),
        ("12 ft", 12 * 0.3048),
        ("none", math.inf),
        ("default", math.inf),
    ],
)
def test_parse_length_m(text, metres) -> None:
    """Metres, centimetres, feet and feet-and-inches are read; no-limit words are infinite."""
    assert parse_length_m(text) == pytest.approx(metres)


@pytest.mark.parametrize(
    ("text", "tonnes"),
    [
        ("7", 7.0),
        ("7 t", 7.0),
        ("7.5 st", 7.5 * 0.90718474),
        ("3500 kg", 3.5),
        ("10000 lbs", 4.5359237),
        ("none", math.inf),
    ],
)
def test_parse_weight_t(text, tonnes) -> None:
    """Tonnes, kilograms, US short tons (OSM's st, not the stone) and pounds are read."""
    assert parse_weight_t(text) == pytest.approx(tonnes)


@pytest.mark.parametrize("text", ["3,5 m", "wide", "3.5-4", "", "3.5 yards", "-2", "2 lanes"])
def test_parse_length_m__garbage(text) -> None:
    """A malformed length raises ValueError (the rules catch and count it)."""
    with pytest.raises(ValueError, match="not an OSM length"):
        parse_length_m(text)


@pytest.mark.parametrize("text", ["7,5 t", "heavy", "7.5 stone", "3.5t;7t"])
def test_parse_weight_t__garbage(text) -> None:
    """A malformed weight raises ValueError (the rules catch and count it)."""
    with pytest.raises(ValueError, match="not an OSM weight"):
        parse_weight_t(text)


def test_parse_conditional__weekend_evenings() -> None:
    """``no @ (Sa,Su 18:00-24:00)`` closes Saturday and Sunday from 18:00 to midnight."""
    (clause,) = parse_conditional("no @ (Sa,Su 18:00-24:00)").clauses
    assert clause.value == "no"
    assert clause.window == ((SA + 18 * H, SU), (SU + 18 * H, WEEK_MIN))


def test_parse_conditional__overnight_wraps() -> None:
    """``no @ (19:00-06:00)`` runs past midnight every night, Sunday night into Monday too."""
    (clause,) = parse_conditional("no @ (19:00-06:00)").clauses
    assert clause.window is not None
    assert covers(clause.window, TU + 23 * H)
    assert covers(clause.window, WE + 5 * H + 59)
    assert not covers(clause.window, WE + 6 * H)
    assert covers(clause.window, MO + 3 * H)  # Sunday 19:00 to Monday 06:00
    assert sum(e - s for s, e in clause.window) == 7 * 11 * H


def test_parse_conditional__several_clauses() -> None:
    """Clauses separated by ``;`` keep their order, values and windows."""
    c = parse_conditional("no @ (Mo-Fr 07:00-09:00); delivery @ (Mo-Fr 06:00-10:00)")
    assert [cl.value for cl in c.clauses] == ["no", "delivery"]
    assert c.clauses[1].window == tuple((d + 6 * H, d + 10 * H) for d in (MO, TU, WE, TH, FR))
    assert c.problems == ()


def test_parse_conditional__semicolon_inside_brackets() -> None:
    """The Old Quarter form ``(Fr 19:00-23:59; Sa-Su 00:00-23:59)`` is one closure to Monday."""
    (clause,) = parse_conditional("no @ (Fr 19:00-23:59; Sa-Su 00:00-23:59)").clauses
    assert clause.window == ((FR + 19 * H, WEEK_MIN),)


def test_parse_conditional__vehicle_condition() -> None:
    """A weight condition applies to a heavy truck, not to a light van."""
    (clause,) = parse_conditional("no @ (weight>7.5 AND Mo-Fr 06:00-20:00)").clauses
    truck = VehicleProfile(name="truck", width_m=2.3, gross_weight_t=12.0)
    van = VehicleProfile(name="van", width_m=1.8, gross_weight_t=3.5)
    assert len(clause.applies(truck)) == 5
    assert clause.applies(van) == ()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("@ (Fr-Su 18:00-23:59)", "syntax"),
        ("no @ @ (Fr-Su 18:00-23:59)", "syntax"),
        ("garbage", "syntax"),
        ("no @ (Mo-Fr 25:00-99:00)", "syntax"),
        ("no @ (Moonday 10:00-12:00)", "syntax"),
        ("no @ wet", "unsupported"),
        ("no @ (stay < 2 hours)", "unsupported"),
        ('no @ (Nov 27-Dec 27 22:30-04:30 "works")', "date-limited"),
    ],
)
def test_parse_conditional__garbage_counted(text, kind) -> None:
    """A clause that cannot be applied to a weekly network is reported with its kind, not raised."""
    c = parse_conditional(text)
    assert c.clauses == ()
    assert c.problems == ((kind, text),)


def test_parse_conditional__bad_clause_keeps_good_ones() -> None:
    """One garbled clause is counted; the readable clause next to it still applies."""
    c = parse_conditional("no @ (Sa 10:00-12:00); no @ @ (Su)")
    assert [cl.window for cl in c.clauses] == [((SA + 10 * H, SA + 12 * H),)]
    assert c.problems == (("syntax", "no @ @ (Su)"),)


def test_weekly_text__round_trip() -> None:
    """Weekly intervals written as edge text read back the same; wrapping intervals are split."""
    iv = normalise_weekly([(SU + 19 * H, MO + 6 * H + WEEK_MIN), (TU, TU + H)])
    assert iv == ((0, 6 * H), (TU, TU + H), (SU + 19 * H, WEEK_MIN))
    assert decode_weekly(encode_weekly(iv)) == iv
    assert decode_weekly([encode_weekly(iv[:1]), encode_weekly(iv[1:])]) == iv
    assert decode_weekly(None) == ()


def test_rules__rightmost_clause_wins() -> None:
    """When two clauses hold, the rightmost decides: open Monday 10-12 inside an all-week ban."""
    tags = {
        "highway": "residential",
        "motor_vehicle:conditional": "no @ (Mo-Su 00:00-24:00); yes @ (Mo 10:00-12:00)",
    }
    v = NetworkRules().verdict(tags, "truck")
    assert v.is_open
    assert v.closed == ((0, 10 * H), (12 * H, WEEK_MIN))


def test_rules__delivery_window() -> None:
    """``motor_vehicle=no`` + ``delivery @ (...)`` opens only in the window; closing delivery
    closes the street all week."""
    tags = {
        "highway": "residential",
        "motor_vehicle": "no",
        "motor_vehicle:conditional": "delivery @ (Mo-Fr 06:00-10:00)",
    }
    v = NetworkRules().verdict(tags, "truck")
    assert v.is_open
    assert not covers(v.closed, WE + 8 * H)
    assert covers(v.closed, WE + 11 * H)
    assert covers(v.closed, SA + 8 * H)
    strict = VehicleProfile(
        name="strict truck",
        width_m=2.3,
        gross_weight_t=12.0,
        closed_values=frozenset({"no", "private", "delivery"}),
    )
    v = NetworkRules(truck=strict).verdict(tags, "truck")
    assert v.reasons == (
        ("access", "motor_vehicle=no; motor_vehicle=delivery @ (Mo-Fr 06:00-10:00)"),
    )


def test_rules__hgv_only_for_hgv() -> None:
    """``hgv=no`` closes a street to a heavy truck, not to a small electric tipper."""
    tags = {"highway": "residential", "hgv": "no"}
    small = VehicleProfile(name="tipper", width_m=1.6, gross_weight_t=3.0, is_hgv=False)
    assert NetworkRules().truck_reason(tags) == "hgv=no"
    assert NetworkRules(truck=small).truck_reason(tags) is None


def test_rules__width_against_vehicle() -> None:
    """A 2.5 m lane closes the 2.3 m truck (3.5 m needed) but not a 1.6 m tipper with 0.6 m room."""
    tags = {"highway": "residential", "width": "2.5"}
    small = VehicleProfile(name="tipper", width_m=1.6, gross_weight_t=3.0, width_clearance_m=0.6)
    assert NetworkRules().truck_reason(tags) == "width=2.5 < 3.5 m"
    assert NetworkRules(truck=small).truck_reason(tags) is None


def test_rules__name_fallback_configurable() -> None:
    """A lane named Ngõ without a width closes to trucks only while the fallback is on."""
    tags = {"highway": "residential", "name": "Ngõ 35 Cát Linh"}
    assert NetworkRules().truck_reason(tags) == "name=Ngõ 35 Cát Linh"
    assert NetworkRules(name_fallback=False).truck_reason(tags) is None
    assert NetworkRules().truck_reason({**tags, "width": "6 m"}) is None
    assert NetworkRules().truck_reason({**tags, "name": "Ngõ Huế", "highway": "tertiary"}) is None
    assert NetworkRules().truck_reason({**tags, "name": "Ngõa"}) is None


def test_rules__malformed_values_counted() -> None:
    """A malformed width or conditional is counted as a problem and the way stays open."""
    tags = {
        "highway": "residential",
        "width": "3,5 m",
        "maxweight": "heavy",
        "motor_vehicle:conditional": "@ (Fr-Su 18:00-23:59)",
    }
    v = NetworkRules(name_fallback=False).verdict(tags, "truck")
    assert v.is_open and v.closed == ()
    assert sorted(kind for _, _, kind in v.problems) == ["syntax", "unreadable", "unreadable"]


def test_rules__oneway_conditional_closes_the_other_direction() -> None:
    """``oneway=yes @ (...)`` closes only the direction against the way in its window."""
    tags = {"highway": "residential", "oneway:conditional": "yes @ (06:30-08:30)"}
    forward = NetworkRules().verdict(tags, "truck", reverse=False)
    backward = NetworkRules().verdict(tags, "truck", reverse=True)
    assert forward.closed == ()
    assert backward.closed == tuple((d + 6 * H + 30, d + 8 * H + 30) for d in range(0, 7 * D, D))


def _tiny() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_edge(1, 2, **{CLOSED_ATTR: encode_weekly(((FR + 19 * H, WEEK_MIN),))})
    G.add_edge(2, 3, **{CLOSED_ATTR: encode_weekly(((MO + 7 * H, MO + 9 * H),))})
    G.add_edge(3, 1)
    return G


def test_closed_at__tiny_graph() -> None:
    """Edges are closed exactly inside their intervals, ends excluded."""
    G = _tiny()
    assert closed_at(G, WeekTime(5, 19.0)) == {(1, 2, 0)}
    assert closed_at(G, dt.datetime(2026, 12, 7, 8, 0)) == {(2, 3, 0)}  # a Monday
    assert closed_at(G, WeekTime(0, 9.0)) == set()
    assert closed_between(G, WeekTime(0, 6.0), WeekTime(0, 14.0)) == {(2, 3, 0)}
    assert closed_between(G, WeekTime(6, 20.0), WeekTime(0, 8.0)) == {(1, 2, 0), (2, 3, 0)}
    assert closure_periods(G) == [
        (0, 7 * H),
        (7 * H, 9 * H),
        (9 * H, FR + 19 * H),
        (FR + 19 * H, WEEK_MIN),
    ]
    H2 = network_at(G, WeekTime(5, 19.0))
    assert sorted(H2.edges()) == [(2, 3), (3, 1)] and G.number_of_edges() == 3
    with pytest.raises(ValueError, match="weekday"):
        closed_at(G, WeekTime(7, 10.0))


# --- the Old Quarter walking streets on the real central-Hanoi extract -----------------------


def _osmids(value) -> list[int]:
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def test_network_at__old_quarter_weekend(hanoi_networks, hanoi_streets_file) -> None:
    """Saturday 19:00 has none of the walking streets, Tuesday 10:00 has them, as the XML says."""
    conditional = conditional_ways(str(hanoi_streets_file))
    G = hanoi_networks.truck
    in_truck = {w for _, _, d in G.edges(data=True) for w in _osmids(d["osmid"])} & set(conditional)
    sat = {w for w in in_truck if closed_by_hand(conditional[w], 5, 19.0)}
    assert len(sat) >= 30  # Hàng Đào, Hàng Ngang, Tạ Hiện ... (the Old Quarter and Hồ Gươm)
    assert {w for w in in_truck if closed_by_hand(conditional[w], 1, 10.0)} == set()

    saturday = network_at(G, WeekTime(5, 19.0))
    left = {w for _, _, d in saturday.edges(data=True) for w in _osmids(d["osmid"])}
    assert not left & sat
    assert saturday.graph["gomrac_closed_edges"] == len(closed_at(G, WeekTime(5, 19.0))) > 0
    tuesday = network_at(G, WeekTime(1, 10.0))
    kept = {w for _, _, d in tuesday.edges(data=True) for w in _osmids(d["osmid"])}
    assert sat <= kept
    assert tuesday.number_of_edges() == G.number_of_edges()
    # Friday 18:30 closes only the "Fr-Su 18:00-23:59" streets, not those from 19:00
    friday = closed_at(G, WeekTime(4, 18.5))
    closed_ways = {w for e in friday for w in _osmids(G.edges[e]["osmid"])}
    assert closed_ways == {w for w in in_truck if closed_by_hand(conditional[w], 4, 18.5)}
    assert routable(saturday).number_of_nodes() > 0.9 * routable(G).number_of_nodes()


def test_rush_hour_lanes__from_raw_tags(hanoi_streets_file) -> None:
    """Rush-hour bans ``no @ (06:00-09:00,16:30-19:30)`` close at 07:00 and open at 10:00."""
    conditional = conditional_ways(str(hanoi_streets_file))
    rush = {w: v for w, v in conditional.items() if v == "no @ (06:00-09:00,16:30-19:30)"}
    assert len(rush) == 5
    rules = NetworkRules(name_fallback=False)
    for value in rush.values():
        v = rules.verdict({"highway": "residential", "motor_vehicle:conditional": value}, "truck")
        for day in range(7):
            assert covers(v.closed, day * D + 7 * H) == closed_by_hand(value, day, 7.0) is True
            assert covers(v.closed, day * D + 10 * H) == closed_by_hand(value, day, 10.0) is False


def test_rules_digest__changes_with_every_rule() -> None:
    """The cache key part changes when a vehicle, the name fallback or a closed value changes."""
    base = NetworkRules()
    wider = VehicleProfile(name="wide", width_m=2.5, gross_weight_t=12.0, height_m=3.3)
    strict = VehicleProfile(
        name="compactor truck 12 t",
        width_m=2.3,
        gross_weight_t=12.0,
        height_m=3.3,
        width_clearance_m=1.2,
        closed_values=frozenset({"no", "private", "agricultural", "forestry", "destination"}),
    )
    digests = {
        base.digest(),
        NetworkRules(truck=wider).digest(),
        NetworkRules(truck=strict).digest(),
        NetworkRules(name_fallback=False).digest(),
        NetworkRules(apply_conditionals=False).digest(),
    }
    assert len(digests) == 5
    assert NetworkRules().digest() == base.digest()


def test_network_open_during__night_shifts(hanoi_networks, hanoi_streets_file) -> None:
    """The network of a week of 18:00–02:00 shifts has no way the XML closes at any half hour
    of any of those shifts, and keeps those closed only outside them."""
    from gomrac.geo.restrictions import network_open_during, shift_windows

    conditional = conditional_ways(str(hanoi_streets_file))
    G = hanoi_networks.truck
    in_truck = {w for _, _, d in G.edges(data=True) for w in _osmids(d["osmid"])} & set(conditional)
    hours = [18 + h / 2 for h in range(16)]  # 18:00 ... 01:30
    during = {
        w
        for w in in_truck
        for day in range(7)
        for h in hours
        if closed_by_hand(conditional[w], (day + int(h // 24)) % 7, h % 24)
    }
    assert len(during) >= 30
    open_net = network_open_during(G, shift_windows(18, 26))
    kept = {w for _, _, d in open_net.edges(data=True) for w in _osmids(d["osmid"])}
    assert not kept & during
    assert (in_truck - during) <= kept  # closed only by day (rush hours): kept for night shifts
