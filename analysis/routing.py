r"""Waste-collection routing: multi-trip compactor routes to the landfill, and handcart rounds.

The problem
-----------
Compactor trucks leave a garage at the start of the night shift, collect the gathering points
(*clients*: a waste demand in kg and m³, a service time, optionally a time window), drive to a
landfill (Tràng Cát) to unload whenever the body is full, go back out for another trip, and at the
end of the shift unload one last time before returning **empty** to the garage. This is a
capacitated, multi-trip VRP with reload depots, shift limits and optional time windows; it is
solved with PyVRP's iterated local search. Handcart / tricycle crews are the same model on the walk
network: the transfer (gathering) point is both their garage and their "landfill".

Inputs are travel-time (s) and distance (m) matrices over *locations* (garages, landfills and
clients), computed on the real road network elsewhere; they may be asymmetric (one-way streets)
and hold ``np.inf`` for unreachable pairs. Every location index in this module is a row of those
matrices; a *client* is identified by its position in ``CollectionProblem.clients`` (``client #i``)
and sits at matrix index ``clients[i]``.

How the model maps onto PyVRP 0.14.1
------------------------------------
* The landfills are *reload depots* (``VehicleType.reload_depots``, unlimited ``max_reloads``); a
  reload depot's ``service_duration`` is the unload time. 0.14.1 has no ``Trip`` class: a route is a
  list of scheduled activities, the depot activities in the middle are the reloads, and
  ``ScheduledActivity.trip`` / ``Route.num_trips()`` give the trip structure.
* **Forcing the final unload.** PyVRP lets the last trip go straight from its last client to the
  end depot, i.e. the truck would park full. We fold the final unload into the edges that end a
  route: for a vehicle type ``k`` with garage ``g`` and unload time ``u_k``, the solver's edge
  client→garage is

  .. math::

     d'(c, g) = d(c, \ell^*) + d(\ell^*, g), \qquad
     t'(c, g) = t(c, \ell^*) + u_k + t(\ell^*, g)

  where :math:`\ell^*` is the landfill minimising that distance (ties broken on time). The solver
  thus prices and times the last trip exactly as "unload, then drive home", and the plan we return
  inserts the landfill visit :math:`\ell^*` explicitly. Client→garage edges are only ever used to
  end a route, so nothing else changes.
* To keep those folded edges from leaking into other legs, every vehicle type gets its own copy of
  its garage and of each landfill as separate solver locations (rows of the solver matrix copied
  from the caller's row). A garage and a landfill may then share one location (a plain CVRP, or a
  handcart whose transfer point is both) without the client→landfill edge being confused with the
  client→garage one, and each vehicle type may have its own unload time.
* The solver's ``ProblemData`` is built directly from matrices (what ``Model.data()`` produces),
  which avoids creating one ``Edge`` object per pair on large instances.

A plan a ward can trust
-----------------------
* **Never worse than the obvious plan.** `solve` builds the nearest-neighbour plan, a
  Clarke–Wright savings plan (`savings_plan`) and takes the ward's current routes
  (``baseline=``); the cheapest that passes `check_plan` is PyVRP's warm start
  (``initial_solution``), the fleet offered to the search is what it uses plus a small margin,
  and the cheapest of all candidates is returned, with ``origin`` naming it.
* **The same plan on an idle and a busy machine.** Searches stop on progress (iterations
  without a better plan, `DEFAULT_NO_IMPROVEMENT`, or an iteration cap) with the time limit as
  a safety net; with a given seed a search that stops on progress gives the same plan whatever
  the load. ``workers`` independent searches (seeds ``seed``, ``seed + 1``, ...) run in
  parallel processes and the best is kept (ties to the lower seed). ``status`` says
  ``"time_limit"`` when the cap cut a search short.
* **Bounds.** Every plan carries ``lower_bound_vnd`` and ``gap_pct`` from `route_bounds`: at
  least ⌈demand / capacity⌉ trips, the least number of vehicles the shift allows, and the larger
  of an assignment bound and a radial bound on distance (proofs in ``_routing_bounds``).

Integers at the solver boundary (STYLE G5)
------------------------------------------
PyVRP takes integers. `to_solver_units` converts: distances to the nearest metre; durations are
rounded **up** and capacities **down**, demands **up** (kg, and m³ as litres), so a plan the solver
thinks feasible is feasible in the exact float data that `check_plan` uses (the price: a trip
filled to exactly its capacity with fractional demands can be refused, by at most 1 kg and 1 L per
client on board). The objective is
rescaled so that the cheapest vehicle type costs 10 units per metre (PyVRP's load and time-warp
penalties are capped and tuned for objectives of a few units per metre; an objective in VND per
metre saturates them and the search degrades); fixed costs use the same unit.

Clock
-----
Times are seconds after midnight of the day the shift starts; a shift that crosses midnight ends
after 86 400 s (02:00 the next day is 93 600 s). Time windows use the same clock.

Assumptions (all configurable)
------------------------------
* Truck: a 7 t / 14 m³ rear-loading compactor, the common body in Vietnamese city fleets; the
  compacted waste density (~0.5 t/m³) makes either limit bind depending on the stream.
* Shift: the city waste company collects at night; we default to 18:00–02:00 (`NIGHT_SHIFT`). The
  real window varies by district and must be set from the operator's schedule.
* Unload at Tràng Cát: 20 min (queue, weighbridge and tipping).
* Fuel: 40 L/100 km for a compactor in stop-and-go urban collection (an assumption to replace with
  the fleet's fuel log).
* CO2: 2.68 kg per litre of diesel, from the IPCC 2006 Guidelines default factor for diesel/gas oil
  (Vol. 2, Ch. 3, Table 3.2.1: 74 100 kg CO2/TJ) with its net calorific value (Vol. 2, Ch. 1,
  Table 1.2: 43.0 TJ/Gg) and a density of 0.84 kg/L: 74 100 × 0.043 × 0.84 / 1000 ≈ 2.68 kg/L
  (the UK DEFRA/DESNZ greenhouse-gas conversion factors give ≈ 2.66–2.69 kg CO2 per litre of
  100 % mineral diesel depending on the edition; biodiesel blends are lower).
* Handcart: a 660 L wheeled bin holds ≈ 150–200 kg of loose household waste; default 180 kg.

Waste streams
-------------
Demands may be given per stream (food / recyclable / residual, `STREAMS`) as an ``(n, n_streams)``
array; a plan is for one collection, so `CollectionProblem.from_matrices` takes a ``stream``
selection (one stream, or several co-collected and summed).

Split-body vehicles (`Compartment`) carry several streams at once, each in its own compartment:
``compartment_kg`` gives each client's load per compartment, and each compartment is one of
PyVRP's load dimensions (``pickup`` and ``capacity`` are vectors), so a trip is full when any
compartment is. The body's volume, when volumes are given, stays one more dimension.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyvrp

from gomrac.analysis._routing_bounds import RouteBounds
from gomrac.analysis._routing_bounds import route_bounds as _route_bounds
from gomrac.analysis._routing_savings import savings_routes
from gomrac.analysis._routing_search import SearchOutcome, SearchSpec, Visits, run_searches
from gomrac.analysis.energy import Diesel, Electric
from gomrac.analysis.errors import InfeasibleError, ValidationError

__all__ = [
    "CO2_KG_PER_L_DIESEL",
    "DEFAULT_NO_IMPROVEMENT",
    "NIGHT_SHIFT",
    "STREAMS",
    "CollectionPlan",
    "CollectionProblem",
    "Compartment",
    "Fleet",
    "RouteBounds",
    "RouteStop",
    "VehicleRoute",
    "VehicleType",
    "check_plan",
    "nearest_neighbour_plan",
    "plan_from_sequences",
    "plan_handcart_rounds",
    "route_bounds",
    "saving_pct",
    "savings_plan",
    "solve",
    "to_solver_units",
]

log = logging.getLogger(__name__)

CO2_KG_PER_L_DIESEL = 2.68
"""kg CO2 emitted per litre of diesel burnt (IPCC 2006 default; see the module docstring)."""

NIGHT_SHIFT = (18 * 3600, 26 * 3600)
"""Default truck shift, 18:00–02:00, in seconds after midnight of the day the shift starts."""

DEFAULT_NO_IMPROVEMENT = 1000
"""Default of `solve`'s ``no_improvement``: iterations without a better plan that end a search.

Measured on the Hanoi sample's daily collection (292 points, savings start, a shared 2-core
machine at a load of 7): seeds 0–2 stopped on this rule after 1 500–2 500 iterations, inside the
CLI's 30 s, at 27.64–27.73 million VND (11–12 % below nearest neighbour); with 2 000 one seed in
four ran to 14 000 iterations and all three runs of the bench at 30 s hit the time cap under
that load, so the plan depended on the machine; with 4 000 the search ran past 60 s.
"""

STREAMS = ("food", "recyclable", "residual")
"""Names of the columns of a per-stream demand array (food / recyclable / residual waste)."""

_UNREACHABLE = 1 << 40
"""Solver value for an unreachable pair: large, yet several of them still fit an int64 sum."""

_INT_MAX = int(np.iinfo(np.int64).max)
_M3_TO_L = 1000.0
_TOL_S = 1e-6

StopKind = Literal["garage", "client", "landfill"]
PlanStatus = Literal["optimal", "feasible", "time_limit"]


def to_solver_units(
    x: npt.ArrayLike, *, rounding: Literal["nearest", "up", "down"] = "nearest"
) -> npt.NDArray[np.int64]:
    """Round seconds, metres or load units to the int64 values PyVRP takes.

    Parameters
    ----------
    x
        Values in seconds, metres, kg or litres; ``+inf`` means unreachable / unbounded.
    rounding
        ``"nearest"`` (distances), ``"up"`` (durations and demands: the solver never sees less
        than the truth) or ``"down"`` (capacities and shift ends).

    Returns
    -------
    numpy.ndarray
        int64 array of the same shape; ``+inf`` becomes a large "unreachable" value (2**40).

    Raises
    ------
    ValidationError
        If `x` holds NaN or negative infinity.
    """
    arr = np.asarray(x, dtype=np.float64)
    if np.isnan(arr).any() or np.isneginf(arr).any():
        msg = "cannot convert NaN or -inf to solver units; fix the matrix or the demand."
        raise ValidationError(msg)
    finite = np.isfinite(arr)
    fn = {"nearest": np.rint, "up": np.ceil, "down": np.floor}[rounding]
    # 1e-9 guards against 1000.0000000001 becoming 1001 when rounding up.
    shifted = arr - 1e-9 if rounding == "up" else arr + 1e-9 if rounding == "down" else arr
    out = np.where(finite, fn(np.where(finite, shifted, 0.0)), float(_UNREACHABLE))
    return np.minimum(out, float(_UNREACHABLE)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Fleet
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compartment:
    """One compartment of a split-body vehicle: the waste stream it carries and its capacity.

    Parameters
    ----------
    stream
        Code of the stream it carries (``food``, ``residual``, ...).
    capacity_kg
        Payload of the compartment per trip, kg.
    capacity_m3
        Volume of the compartment, m³ (``inf``: only the body's volume limits it).
    """

    stream: str
    capacity_kg: float
    capacity_m3: float = math.inf

    def __post_init__(self) -> None:
        if not self.stream:
            msg = "compartment: stream must be named"
            raise ValidationError(msg)
        for name in ("capacity_kg", "capacity_m3"):
            value = getattr(self, name)
            if not value > 0:
                msg = f"compartment {self.stream}: {name} must be positive, got {value}"
                raise ValidationError(msg)


@dataclass(frozen=True)
class VehicleType:
    """One kind of collection vehicle; the defaults describe a Hai Phong compactor truck.

    Parameters
    ----------
    name
        Label used in plans.
    count
        Number of vehicles of this type available for the shift.
    capacity_kg
        Payload limit per trip, in kg (7 t rear-loader by default).
    capacity_m3
        Body volume per trip, in m³ (14 m³ by default); ``inf`` for no volume limit.
    garage
        Matrix index of this type's garage; ``None`` uses the problem's ``garage``.
    cost_per_km_vnd
        Running cost (fuel, tyres, maintenance) per km driven, in VND; an assumption.
    fixed_cost_vnd
        Cost of taking one vehicle out for the shift (crew, depreciation), in VND; an assumption.
        It makes the solver prefer fewer vehicles when the extra km cost less.
    shift_start_s, shift_end_s
        Shift window in seconds after midnight of the shift's first day (default 18:00–02:00,
        `NIGHT_SHIFT`, an assumption to set from the operator's schedule); ``shift_end_s=inf``
        for no limit. The vehicle leaves the garage no earlier than the start and is back, empty,
        no later than the end.
    unload_s
        Time spent at the landfill per unload (queue, weighbridge, tipping), in seconds.
    fuel_l_per_100km
        Diesel consumption in L/100 km (40 for urban stop-and-go collection; an assumption).
    drivetrain
        The vehicle's energy (`gomrac.analysis.energy.Diesel` or `Electric`); ``None`` is a
        diesel truck burning `fuel_l_per_100km`. An electric truck's range bounds the kilometres
        of its shift (it charges at the garage between shifts), and its CO₂ is the grid's.
    width_m, gross_weight_t, height_m
        The vehicle's size as the road tags see it (``maxwidth``, ``maxweight``, ``maxheight``);
        ``None`` leaves the network's default truck profile in force. The planning layer builds
        the truck network for the largest vehicle of the fleet.
    compartments
        A split-body vehicle's compartments (at most one per stream, their capacities summing
        to no more than the body's); empty for a single body.
    garage_lonlat
        Where this type is garaged (longitude, latitude), for the planning layer to snap to the
        network and set `garage`; ``None`` uses the plan's garage.
    """

    name: str = "compactor 7 t / 14 m3"
    count: int = 1
    capacity_kg: float = 7000.0
    capacity_m3: float = 14.0
    garage: int | None = None
    cost_per_km_vnd: float = 15_000.0
    fixed_cost_vnd: float = 1_500_000.0
    shift_start_s: float = float(NIGHT_SHIFT[0])
    shift_end_s: float = float(NIGHT_SHIFT[1])
    unload_s: float = 20 * 60.0
    fuel_l_per_100km: float = 40.0
    drivetrain: Diesel | Electric | None = None
    width_m: float | None = None
    gross_weight_t: float | None = None
    height_m: float | None = None
    compartments: tuple[Compartment, ...] = ()
    garage_lonlat: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "compartments", tuple(self.compartments))
        problems = []
        if self.count < 1:
            problems.append(f"count must be >= 1, got {self.count}")
        if not self.capacity_kg > 0 or not self.capacity_m3 > 0:
            problems.append("capacities must be positive")
        if not self.shift_end_s > self.shift_start_s:
            problems.append(
                f"shift_end_s ({self.shift_end_s}) must be after shift_start_s "
                f"({self.shift_start_s}); a shift past midnight ends after 86400 s"
            )
        if self.unload_s < 0 or self.cost_per_km_vnd < 0 or self.fixed_cost_vnd < 0:
            problems.append("unload_s and costs must be non-negative")
        if self.fuel_l_per_100km < 0:
            problems.append("fuel_l_per_100km must be non-negative")
        for name in ("width_m", "gross_weight_t", "height_m"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                problems.append(f"{name} must be positive")
        problems.extend(self._compartment_problems())
        if self.garage_lonlat is not None:
            lon, lat = self.garage_lonlat
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                problems.append(f"garage_lonlat ({lon}, {lat}) is not a longitude, latitude")
        if problems:
            msg = f"VehicleType {self.name!r}: " + "; ".join(problems) + "."
            raise ValidationError(msg)

    def _compartment_problems(self) -> list[str]:
        streams = [c.stream for c in self.compartments]
        problems = [
            f"compartments: stream {s!r} has two compartments"
            for s in sorted({s for s in streams if streams.count(s) > 1})
        ]
        if self.compartments:
            kg = sum(c.capacity_kg for c in self.compartments)
            if kg > self.capacity_kg + 1e-9:
                problems.append(
                    f"compartments hold {kg:.0f} kg, above the body's capacity_kg "
                    f"({self.capacity_kg:.0f} kg)"
                )
            m3 = sum(c.capacity_m3 for c in self.compartments)
            if math.isfinite(m3) and m3 > self.capacity_m3 + 1e-9:
                problems.append(
                    f"compartments hold {m3:.2f} m3, above the body's capacity_m3 "
                    f"({self.capacity_m3:.2f} m3)"
                )
        return problems

    @property
    def streams(self) -> tuple[str, ...]:
        """Streams the compartments carry, in their order (empty for a single body)."""
        return tuple(c.stream for c in self.compartments)

    @property
    def shift_s(self) -> float:
        """Shift length in seconds."""
        return self.shift_end_s - self.shift_start_s

    @property
    def energy(self) -> Diesel | Electric | None:
        """Return the drivetrain: the one given, else diesel at `fuel_l_per_100km` (None at 0)."""
        if self.drivetrain is not None:
            return self.drivetrain
        return Diesel(l_per_100km=self.fuel_l_per_100km) if self.fuel_l_per_100km > 0 else None

    @property
    def range_m(self) -> float:
        """Return the metres one shift may drive (an electric truck's range; else unbounded)."""
        return 1000.0 * self.energy.range_km if self.energy is not None else math.inf


@dataclass(frozen=True)
class Fleet:
    """The vehicles available for one collection: a tuple of `VehicleType`.

    Parameters
    ----------
    vehicle_types
        At least one vehicle type; plans refer to a type by its position here.
    """

    vehicle_types: tuple[VehicleType, ...]

    def __post_init__(self) -> None:
        if not self.vehicle_types:
            msg = "a Fleet needs at least one VehicleType."
            raise ValidationError(msg)
        object.__setattr__(self, "vehicle_types", tuple(self.vehicle_types))

    def __iter__(self) -> Iterator[VehicleType]:
        return iter(self.vehicle_types)

    def __len__(self) -> int:
        return len(self.vehicle_types)

    def __getitem__(self, k: int) -> VehicleType:
        return self.vehicle_types[k]

    @property
    def n_vehicles(self) -> int:
        """Total number of vehicles over all types."""
        return sum(vt.count for vt in self.vehicle_types)


# --------------------------------------------------------------------------------------------
# Problem
# --------------------------------------------------------------------------------------------


def _readonly(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


def _select_stream(
    demand: npt.ArrayLike, n: int, stream: str | int | Sequence[str | int] | None, name: str
) -> tuple[npt.NDArray[np.float64], str]:
    arr = np.asarray(demand, dtype=np.float64)
    if arr.ndim == 1:
        if arr.shape != (n,):
            msg = f"`{name}` has {arr.shape[0]} values for {n} clients."
            raise ValidationError(msg)
        if stream not in (None, 0, "all"):
            msg = f"`{name}` has a single stream; `stream` must be None, got {stream!r}."
            raise ValidationError(msg)
        return arr, "all"
    if arr.ndim != 2 or arr.shape[0] != n:
        msg = f"`{name}` must have shape (n_clients,) or (n_clients, n_streams); got {arr.shape}."
        raise ValidationError(msg)
    n_streams = arr.shape[1]
    if stream is None or stream == "all":
        return arr.sum(axis=1), "all"
    chosen = [stream] if isinstance(stream, str | int) else list(stream)
    cols: list[int] = []
    for s in chosen:
        if isinstance(s, str):
            if n_streams != len(STREAMS) or s not in STREAMS:
                msg = (
                    f"unknown stream {s!r}: names {STREAMS} apply to a demand with "
                    f"{len(STREAMS)} columns; `{name}` has {n_streams}. Pass column numbers."
                )
                raise ValidationError(msg)
            cols.append(STREAMS.index(s))
        elif 0 <= s < n_streams:
            cols.append(int(s))
        else:
            msg = f"stream column {s} out of range for `{name}` with {n_streams} streams."
            raise ValidationError(msg)
    label = "+".join(STREAMS[c] if n_streams == len(STREAMS) else str(c) for c in cols)
    return arr[:, cols].sum(axis=1), label


def _compartment_loads(
    compartment_kg: npt.ArrayLike | None, kg: npt.NDArray[np.float64], fleet: Fleet
) -> npt.NDArray[np.float64] | None:
    """Validate the per-compartment loads against the demand and the fleet's compartments."""
    layouts = {len(vt.compartments) for vt in fleet}
    if compartment_kg is None:
        if layouts != {0}:
            msg = "the fleet has split-body vehicles (compartments): pass `compartment_kg`."
            raise ValidationError(msg)
        return None
    comp = np.asarray(compartment_kg, dtype=np.float64)
    if comp.ndim != 2 or comp.shape[0] != len(kg):
        msg = f"`compartment_kg` must have shape ({len(kg)}, n_compartments); got {comp.shape}."
        raise ValidationError(msg)
    if layouts != {comp.shape[1]}:
        msg = (
            f"`compartment_kg` has {comp.shape[1]} compartments; every vehicle type of the fleet "
            f"must have as many (they have {sorted(layouts)})."
        )
        raise ValidationError(msg)
    if not np.isfinite(comp).all() or (comp < 0).any():
        msg = "`compartment_kg` must be finite and non-negative."
        raise ValidationError(msg)
    if not np.allclose(comp.sum(axis=1), kg, rtol=1e-9, atol=1e-6):
        msg = "`compartment_kg` rows must sum to `demand_kg`."
        raise ValidationError(msg)
    return comp


@dataclass(frozen=True, eq=False)
class CollectionProblem:
    """One collection (one waste stream, or co-collected streams) for a fleet over a shift.

    Build it with `CollectionProblem.from_matrices`, which validates the data and raises
    `InfeasibleError` for a client no vehicle can serve. Arrays are read-only.

    Attributes
    ----------
    duration_s, distance_m
        Travel time (s) and distance (m) matrices over all locations; ``inf`` = unreachable.
    garage
        Default garage (matrix index).
    landfills
        Matrix indices of the unload sites (Tràng Cát, or a transfer point).
    clients
        Matrix index of each client (gathering point, household, alley point).
    demand_kg, demand_m3
        Waste per client for this collection, kg and m³.
    service_s
        Time to load each client, in seconds.
    tw_early_s, tw_late_s
        Time window in which loading must start, s after midnight (0 / inf when open).
    fleet
        Vehicles available.
    stream
        Which waste stream(s) the demand is ("all", "food", "recyclable+residual", ...).
    compartment_kg
        ``(n_clients, n_compartments)``: each client's load per compartment of the fleet's
        split-body vehicles (their order), kg; ``None`` for single-body vehicles.
    """

    duration_s: npt.NDArray[np.float64]
    distance_m: npt.NDArray[np.float64]
    garage: int
    landfills: tuple[int, ...]
    clients: tuple[int, ...]
    demand_kg: npt.NDArray[np.float64]
    demand_m3: npt.NDArray[np.float64]
    service_s: npt.NDArray[np.float64]
    tw_early_s: npt.NDArray[np.float64]
    tw_late_s: npt.NDArray[np.float64]
    fleet: Fleet
    stream: str = "all"
    has_volume: bool = field(default=True, repr=False)
    compartment_kg: npt.NDArray[np.float64] | None = field(default=None, repr=False)

    @property
    def n_clients(self) -> int:
        """Number of clients."""
        return len(self.clients)

    def garage_of(self, k: int) -> int:
        """Matrix index of the garage of vehicle type `k`."""
        g = self.fleet[k].garage
        return self.garage if g is None else g

    def unload_s_at(self, k: int) -> float:
        """Unload time (s) of vehicle type `k` at a landfill."""
        return self.fleet[k].unload_s

    @classmethod
    def from_matrices(
        cls,
        duration_s: npt.ArrayLike,
        distance_m: npt.ArrayLike,
        *,
        garage: int,
        landfills: Sequence[int],
        clients: Sequence[int],
        demand_kg: npt.ArrayLike,
        demand_m3: npt.ArrayLike | None = None,
        service_s: npt.ArrayLike = 0.0,
        time_windows: npt.ArrayLike | None = None,
        fleet: Fleet,
        stream: str | int | Sequence[str | int] | None = None,
        compartment_kg: npt.ArrayLike | None = None,
    ) -> CollectionProblem:
        """Build and validate a collection problem from travel-time and distance matrices.

        Parameters
        ----------
        duration_s
            Square travel-time matrix in seconds over all locations, row = from, column = to;
            ``np.inf`` where a pair is unreachable (one-way streets make it asymmetric).
        distance_m
            Distance matrix in metres, same shape and locations.
        garage
            Matrix index of the garage where vehicles start and end (a `VehicleType` may name
            another one).
        landfills
            Matrix indices of the unload sites (at least one).
        clients
            Matrix index of each client, in the order of the demand arrays.
        demand_kg
            Waste to collect in kg, shape ``(n,)`` or ``(n, n_streams)`` (see `STREAMS`).
        demand_m3
            Waste volume in m³, same shapes; ``None`` when volume is not a constraint.
        service_s
            Loading time per client in seconds (scalar or ``(n,)``).
        time_windows
            ``(n, 2)`` array of earliest and latest start of loading, seconds after midnight of
            the shift's first day (``inf`` for no latest); ``None`` for none.
        fleet
            The vehicles available.
        stream
            For per-stream demands: a stream name or column, or several to co-collect (summed);
            ``None`` collects all streams together.
        compartment_kg
            For split-body vehicles: ``(n, n_compartments)`` load of each client per
            compartment, in the order of every vehicle type's `VehicleType.compartments`; its
            rows must sum to the selected `demand_kg`. ``None`` when the vehicles have a single
            body (a fleet with compartments then needs it).

        Returns
        -------
        CollectionProblem

        Raises
        ------
        ValidationError
            On malformed input (shapes, negative values, indices out of range).
        InfeasibleError
            If a client cannot be served by any vehicle type: unreachable from its garage or
            unable to reach a landfill and get back (inf in the matrix), demand above every
            capacity, garage→client→landfill→garage longer than the shift, or a time window that
            cannot be met. The message names the client.
        """
        dur = np.array(duration_s, dtype=np.float64)
        dist = np.array(distance_m, dtype=np.float64)
        n_loc = dur.shape[0] if dur.ndim == 2 else -1
        if dur.ndim != 2 or dur.shape != (n_loc, n_loc) or dist.shape != dur.shape:
            msg = (
                f"duration_s and distance_m must be square and of equal shape; got {dur.shape} "
                f"and {dist.shape}."
            )
            raise ValidationError(msg)
        for name, m in (("duration_s", dur), ("distance_m", dist)):
            if np.isnan(m).any() or (m < 0).any():
                msg = f"`{name}` holds NaN or negative values; use np.inf for unreachable pairs."
                raise ValidationError(msg)
        np.fill_diagonal(dur, 0.0)
        np.fill_diagonal(dist, 0.0)

        landfills_t = tuple(int(i) for i in landfills)
        clients_t = tuple(int(i) for i in clients)
        garages = {int(garage)} | {vt.garage for vt in fleet if vt.garage is not None}
        if not landfills_t:
            msg = "at least one landfill (unload site) is needed."
            raise ValidationError(msg)
        for label, idx in (
            ("garage", sorted(garages)),
            ("landfills", landfills_t),
            ("clients", clients_t),
        ):
            bad = [i for i in idx if not 0 <= i < n_loc]
            if bad:
                msg = f"{label} index {bad[0]} is outside the {n_loc}x{n_loc} matrices."
                raise ValidationError(msg)
        n = len(clients_t)

        kg, label = _select_stream(demand_kg, n, stream, "demand_kg")
        has_volume = demand_m3 is not None
        m3 = (
            np.zeros(n)
            if demand_m3 is None
            else _select_stream(demand_m3, n, stream, "demand_m3")[0]
        )
        svc = np.broadcast_to(np.asarray(service_s, dtype=np.float64), (n,)).copy()
        for name, a in (("demand_kg", kg), ("demand_m3", m3), ("service_s", svc)):
            if not np.isfinite(a).all() or (a < 0).any():
                msg = f"`{name}` must be finite and non-negative."
                raise ValidationError(msg)
        if time_windows is None:
            early, late = np.zeros(n), np.full(n, np.inf)
        else:
            tw = np.asarray(time_windows, dtype=np.float64)
            if tw.shape != (n, 2) or np.isnan(tw).any():
                msg = f"time_windows must have shape ({n}, 2) without NaN; got {tw.shape}."
                raise ValidationError(msg)
            early, late = tw[:, 0].copy(), tw[:, 1].copy()

        comp = _compartment_loads(compartment_kg, kg, fleet)
        problem = cls(
            duration_s=_readonly(dur),
            distance_m=_readonly(dist),
            garage=int(garage),
            landfills=landfills_t,
            clients=clients_t,
            demand_kg=_readonly(kg),
            demand_m3=_readonly(m3),
            service_s=_readonly(svc),
            tw_early_s=_readonly(early),
            tw_late_s=_readonly(late),
            fleet=fleet,
            stream=label,
            has_volume=has_volume,
            compartment_kg=None if comp is None else _readonly(comp),
        )
        problem._validate_feasibility()
        log.info(
            "CollectionProblem: %d clients, %d landfills, %d vehicle types (%d vehicles), "
            "%.1f t of %s",
            n,
            len(landfills_t),
            len(fleet),
            fleet.n_vehicles,
            kg.sum() / 1000,
            label,
        )
        return problem

    # -- validation ---------------------------------------------------------------------------

    def _home_leg(self, k: int, frm: int) -> tuple[int, float, float]:
        """Best landfill to unload at from `frm` before returning to type `k`'s garage.

        Returns the landfill's matrix index, the distance (m) and the duration (s, with the
        unload) of ``frm -> landfill -> garage``; the distance is minimised, ties on time.
        """
        g = self.garage_of(k)
        best = (math.inf, math.inf, self.landfills[0])
        for lf in self.landfills:
            d = self.distance_m[frm, lf] + self.distance_m[lf, g]
            t = self.duration_s[frm, lf] + self.unload_s_at(k) + self.duration_s[lf, g]
            if not (math.isfinite(d) and math.isfinite(t)):
                continue
            if (d, t) < best[:2]:
                best = (d, t, lf)
        return best[2], best[0], best[1]

    def compartment_capacity_kg(self, k: int) -> npt.NDArray[np.float64]:
        """Capacities (kg) of vehicle type `k`'s compartments (empty for a single body)."""
        return np.array([c.capacity_kg for c in self.fleet[k].compartments], dtype=np.float64)

    def fits_compartments(self, k: int, i: int) -> bool:
        """Whether client `i`'s load fits each compartment of vehicle type `k` on its own."""
        if self.compartment_kg is None:
            return True
        return bool((self.compartment_kg[i] <= self.compartment_capacity_kg(k) + 1e-9).all())

    def _validate_feasibility(self) -> None:
        """Raise `InfeasibleError` naming the first client that no vehicle type can serve."""
        for i, c in enumerate(self.clients):
            where = f"client #{i} (matrix index {c})"
            kg, m3 = self.demand_kg[i], self.demand_m3[i]
            early, late = self.tw_early_s[i], self.tw_late_s[i]
            if early > late:
                msg = f"{where}: time window [{early:.0f}, {late:.0f}] s opens after it closes."
                raise InfeasibleError(msg)
            reach = []
            for k in range(len(self.fleet)):
                g = self.garage_of(k)
                to_c = self.duration_s[g, c] + self.distance_m[g, c]
                _, home_d, home_t = self._home_leg(k, c)
                if math.isfinite(to_c) and math.isfinite(home_d + home_t):
                    reach.append((k, home_t))
            if not reach:
                msg = (
                    f"{where} cannot be reached: no vehicle type has a finite path garage→client "
                    "and client→landfill→garage in the matrices (check one-way streets, the "
                    "network's connectivity, or snap the point to another road)."
                )
                raise InfeasibleError(msg)
            fits = [
                (k, t)
                for k, t in reach
                if kg <= self.fleet[k].capacity_kg + 1e-9
                and (not self.has_volume or m3 <= self.fleet[k].capacity_m3 + 1e-9)
                and self.fits_compartments(k, i)
            ]
            if not fits and self.compartment_kg is not None:
                loads = ", ".join(f"{q:.0f}" for q in self.compartment_kg[i])
                msg = (
                    f"{where}: its load per compartment ({loads} kg) does not fit the "
                    "compartments of any vehicle type; split the point or collect it more often."
                )
                raise InfeasibleError(msg)
            if not fits:
                cap_kg = max(vt.capacity_kg for vt in self.fleet)
                cap_m3 = max(vt.capacity_m3 for vt in self.fleet)
                amount, largest = f"{kg:.0f} kg", f"{cap_kg:.0f} kg"
                if self.has_volume:
                    amount, largest = f"{amount} / {m3:.2f} m3", f"{largest} / {cap_m3:.2f} m3"
                msg = (
                    f"{where}: demand {amount} is above every vehicle's capacity (largest "
                    f"{largest}); split the point or collect it more often."
                )
                raise InfeasibleError(msg)
            overrun = math.inf
            tw_ok = False
            for k, home_t in fits:
                vt = self.fleet[k]
                g = self.garage_of(k)
                go = self.duration_s[g, c]
                total = go + self.service_s[i] + home_t
                overrun = min(overrun, total - vt.shift_s)
                start = max(vt.shift_start_s + go, early)
                if start <= late + _TOL_S and start + self.service_s[i] + home_t <= (
                    vt.shift_end_s + _TOL_S
                ):
                    tw_ok = True
            if overrun > _TOL_S:
                msg = (
                    f"{where}: the shift is too short to serve it and unload; "
                    f"garage→client→landfill→garage with service and unload exceeds the shift by "
                    f"{overrun:.0f} s even for the best-placed vehicle type."
                )
                raise InfeasibleError(msg)
            if not tw_ok:
                msg = (
                    f"{where}: time window [{early:.0f}, {late:.0f}] s cannot be met: no vehicle "
                    "can arrive before it closes and still unload and be back before its shift "
                    "ends."
                )
                raise InfeasibleError(msg)

    def solve(
        self,
        *,
        time_limit_s: float,
        seed: int = 0,
        max_iterations: int | None = None,
        no_improvement: int | None = DEFAULT_NO_IMPROVEMENT,
        baseline: CollectionPlan | None = None,
        workers: int = 1,
    ) -> CollectionPlan:
        """Solve this problem; see the module-level `solve`."""
        return solve(
            self,
            time_limit_s=time_limit_s,
            seed=seed,
            max_iterations=max_iterations,
            no_improvement=no_improvement,
            baseline=baseline,
            workers=workers,
        )


# --------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteStop:
    """One stop of a vehicle's day.

    Attributes
    ----------
    location
        Matrix index of the stop.
    kind
        ``"garage"``, ``"client"`` or ``"landfill"`` (an unload).
    client
        Client number (position in ``CollectionProblem.clients``), ``-1`` for depots.
    arrival_s, departure_s
        Arrival and departure, seconds after midnight; the difference is waiting + service or
        unload time.
    load_kg, load_m3
        Load on board after the stop (0 after an unload and at the garage).
    trip
        Trip number (0-based); a landfill stop closes its trip.
    """

    location: int
    kind: StopKind
    client: int
    arrival_s: float
    departure_s: float
    load_kg: float
    load_m3: float
    trip: int


@dataclass(frozen=True)
class VehicleRoute:
    """The night of one vehicle: garage → trips, each ending at a landfill → garage.

    Attributes
    ----------
    vehicle_type
        Position of the vehicle's type in the fleet.
    vehicle_name
        The type's name.
    stops
        Ordered stops, from the garage to the garage, including every unload.
    trips
        Number of trips (unloads).
    trip_loads_kg
        Load unloaded at the end of each trip, kg.
    km, hours
        Distance driven and time from leaving to returning to the garage.
    """

    vehicle_type: int
    vehicle_name: str
    stops: tuple[RouteStop, ...]
    trips: int
    trip_loads_kg: tuple[float, ...]
    km: float
    hours: float

    @property
    def locations(self) -> tuple[int, ...]:
        """Matrix indices of the stops, in order."""
        return tuple(s.location for s in self.stops)

    @property
    def clients(self) -> tuple[int, ...]:
        """Client numbers served, in order."""
        return tuple(s.client for s in self.stops if s.kind == "client")


@dataclass(frozen=True)
class CollectionPlan:
    """Routes for one collection and their totals.

    Attributes
    ----------
    routes
        One `VehicleRoute` per vehicle used.
    method
        ``"pyvrp"``, ``"nearest_neighbour"``, ``"sequences"`` or ``"handcart"``.
    vehicles_used, trips
        Counts over all routes.
    total_km, total_h
        Distance driven (km) and vehicle-hours on the road, garage to garage.
    tonnes
        Waste collected, t.
    fuel_l, co2_kg
        Diesel burnt by the diesel vehicles (L) and the CO₂ of every vehicle's energy (kg:
        `CO2_KG_PER_L_DIESEL` for diesel, the grid's factor for electric trucks).
    energy_kwh
        Electricity the electric vehicles draw from the grid (kWh).
    max_load_pct
        Fullest trip, as % of capacity on the binding dimension (kg or m³).
    all_points_served_once
        Whether every client is in exactly one route, once.
    unserved
        Client numbers in no route.
    cost_vnd
        ``cost_per_km_vnd * km + fixed_cost_vnd`` summed over vehicles used, computed from the
        matrices the same way for every method.
    solve_s
        Wall time spent building the plan, s.
    solver_cost_vnd
        PyVRP's objective converted to VND (``None`` for plans not made by PyVRP; ``inf`` when
        PyVRP found no feasible solution).
    solver_feasible
        Whether PyVRP reports its solution feasible (``None`` when not solved by PyVRP).
    stream
        Waste stream(s) collected.
    origin
        Which plan `solve` returned: ``"search"`` (PyVRP's), or a constructive plan it could not
        beat, ``"nearest_neighbour"``, ``"savings"`` or ``"baseline"`` (the plan passed as
        ``baseline``); a constructive plan names itself (``"sequences"`` for
        `plan_from_sequences`).
    origin_saving_pct
        How much cheaper the returned plan is than the next best candidate, % of that
        candidate's cost (0 when only one candidate was feasible, or on a tie).
    candidate_costs_vnd
        ``(origin, cost_vnd)`` of every candidate `solve` compared that passed `check_plan`.
    lower_bound_vnd
        No complete plan of the problem costs less (VND): the trip, vehicle and distance bounds
        of `route_bounds`.
    gap_pct
        ``100 * (cost_vnd - lower_bound_vnd) / cost_vnd``: at most this share of the cost could
        still be saved (negative only for a plan that leaves clients unserved, which the bound
        does not cover).
    status
        ``"optimal"`` when the cost meets the lower bound, ``"time_limit"`` when a search was
        cut short by its time cap (a longer run could give another plan), ``"feasible"``
        otherwise (for `solve`: the searches stopped on their progress rule, so the result
        depends only on the seed, the workers and the iteration counts).
    min_trips, min_vehicles
        The least numbers of trips and vehicles any complete plan needs (the bound's parts).
    seed, workers, iterations, stop_reason
        For `solve`'s plans: the first seed, the number of searches (seeds ``seed`` ...
        ``seed + workers - 1``; 0 for plans not made by `solve`), and the iterations of the
        best search and the rule that stopped it (``"no_improvement"``, ``"max_iterations"``
        or ``"time_limit"``).
    """

    routes: tuple[VehicleRoute, ...]
    method: str
    vehicles_used: int
    trips: int
    total_km: float
    total_h: float
    tonnes: float
    fuel_l: float
    co2_kg: float
    max_load_pct: float
    all_points_served_once: bool
    unserved: tuple[int, ...]
    cost_vnd: float
    solve_s: float
    solver_cost_vnd: float | None = None
    solver_feasible: bool | None = None
    stream: str = "all"
    origin: str = ""
    origin_saving_pct: float = 0.0
    candidate_costs_vnd: tuple[tuple[str, float], ...] = ()
    lower_bound_vnd: float = 0.0
    gap_pct: float = 0.0
    status: PlanStatus = "feasible"
    min_trips: int = 0
    min_vehicles: int = 0
    seed: int | None = None
    workers: int = 0
    iterations: int = 0
    stop_reason: str = ""
    energy_kwh: float = 0.0


def saving_pct(baseline: CollectionPlan, plan: CollectionPlan, *, by: str = "cost_vnd") -> float:
    """Percent saved by `plan` over `baseline` on a total (``cost_vnd``, ``total_km``, ...)."""
    base = float(getattr(baseline, by))
    return 100.0 * (base - float(getattr(plan, by))) / base if base else 0.0


def _service_of(problem: CollectionProblem, k: int, kind: StopKind, client: int) -> float:
    if kind == "client":
        return float(problem.service_s[client])
    if kind == "landfill":
        return problem.unload_s_at(k)
    return 0.0


def _timeline(
    problem: CollectionProblem,
    k: int,
    locs: Sequence[int],
    kinds: Sequence[StopKind],
    clients: Sequence[int],
    start_s: float,
) -> tuple[list[float], list[float]]:
    """Arrival and departure at each stop when leaving the garage at `start_s`.

    A truck early at a client waits for its time window to open.
    """
    arr, dep = [start_s], [start_s]
    for p in range(1, len(locs)):
        a = dep[-1] + problem.duration_s[locs[p - 1], locs[p]]
        begin = max(a, problem.tw_early_s[clients[p]]) if kinds[p] == "client" else a
        arr.append(a)
        dep.append(begin + _service_of(problem, k, kinds[p], clients[p]))
    return arr, dep


def _best_start(
    problem: CollectionProblem,
    k: int,
    locs: Sequence[int],
    kinds: Sequence[StopKind],
    clients: Sequence[int],
) -> float:
    """Leave at the shift start, or later when that only removes the first idle wait."""
    start = problem.fleet[k].shift_start_s
    arr, _ = _timeline(problem, k, locs, kinds, clients, start)
    delay: float = math.inf
    for p in range(1, len(locs)):
        if kinds[p] != "client":
            continue
        early, late = problem.tw_early_s[clients[p]], problem.tw_late_s[clients[p]]
        delay = min(delay, late - arr[p])
        if arr[p] < early:
            delay = min(delay, early - arr[p])
            return start + max(0.0, delay)
    return start


def _build_route(
    problem: CollectionProblem,
    k: int,
    locs: Sequence[int],
    kinds: Sequence[StopKind],
    clients: Sequence[int],
) -> VehicleRoute:
    """Cost and time one vehicle's stop sequence (garage ... garage) from the matrices."""
    start = _best_start(problem, k, locs, kinds, clients)
    arr, dep = _timeline(problem, k, locs, kinds, clients, start)
    stops: list[RouteStop] = []
    load_kg = load_m3 = 0.0
    trip = 0
    trip_loads: list[float] = []
    for p, (loc, kind, cl) in enumerate(zip(locs, kinds, clients, strict=True)):
        if kind == "client":
            load_kg += float(problem.demand_kg[cl])
            load_m3 += float(problem.demand_m3[cl])
        elif kind == "landfill":
            trip_loads.append(load_kg)
            load_kg = load_m3 = 0.0
        stops.append(RouteStop(loc, kind, cl, arr[p], dep[p], load_kg, load_m3, trip))
        if kind == "landfill":
            trip += 1
    km = sum(problem.distance_m[a, b] for a, b in itertools.pairwise(locs)) / 1000.0
    return VehicleRoute(
        vehicle_type=k,
        vehicle_name=problem.fleet[k].name,
        stops=tuple(stops),
        trips=len(trip_loads),
        trip_loads_kg=tuple(trip_loads),
        km=float(km),
        hours=(arr[-1] - dep[0]) / 3600.0,
    )


def _assemble_plan(
    problem: CollectionProblem,
    routes: Sequence[VehicleRoute],
    *,
    method: str,
    solve_s: float,
    solver_cost_vnd: float | None = None,
    solver_feasible: bool | None = None,
    origin: str | None = None,
) -> CollectionPlan:
    seen = np.zeros(problem.n_clients, dtype=np.int64)
    max_pct = 0.0
    cost = fuel = kwh = co2 = 0.0
    for r in routes:
        vt = problem.fleet[r.vehicle_type]
        for s in r.stops:
            if s.kind == "client":
                seen[s.client] += 1
            pct_kg = s.load_kg / vt.capacity_kg
            pct_m3 = s.load_m3 / vt.capacity_m3 if problem.has_volume else 0.0
            max_pct = max(max_pct, 100.0 * pct_kg, 100.0 * pct_m3)
        cost += vt.cost_per_km_vnd * r.km + vt.fixed_cost_vnd
        drive = vt.energy
        if isinstance(drive, Electric):
            kwh += drive.energy(r.km)
        elif drive is not None:
            fuel += drive.energy(r.km)
        co2 += drive.co2_kg(r.km) if drive is not None else 0.0
    served = seen > 0
    bounds = route_bounds(problem)
    gap = 100.0 * (cost - bounds.cost_vnd) / cost if cost > 0 else 0.0
    optimal = bool((seen == 1).all()) and cost <= bounds.cost_vnd * (1 + 1e-9) + 1e-6
    return CollectionPlan(
        routes=tuple(routes),
        method=method,
        vehicles_used=len(routes),
        trips=sum(r.trips for r in routes),
        total_km=float(sum(r.km for r in routes)),
        total_h=float(sum(r.hours for r in routes)),
        tonnes=float(problem.demand_kg[served].sum() / 1000.0),
        fuel_l=float(fuel),
        co2_kg=float(co2),
        energy_kwh=float(kwh),
        max_load_pct=float(max_pct),
        all_points_served_once=bool((seen == 1).all()),
        unserved=tuple(int(i) for i in np.flatnonzero(seen == 0)),
        cost_vnd=float(cost),
        solve_s=float(solve_s),
        solver_cost_vnd=solver_cost_vnd,
        solver_feasible=solver_feasible,
        stream=problem.stream,
        origin=method if origin is None else origin,
        lower_bound_vnd=bounds.cost_vnd,
        gap_pct=max(0.0, gap) if optimal else gap,
        status="optimal" if optimal else "feasible",
        min_trips=bounds.min_trips,
        min_vehicles=bounds.min_vehicles,
    )


_BOUNDS: weakref.WeakKeyDictionary[CollectionProblem, RouteBounds] = weakref.WeakKeyDictionary()


def route_bounds(problem: CollectionProblem) -> RouteBounds:
    """Lower bounds on trips, vehicles, distance and cost of any complete plan of `problem`.

    The trip bound comes from total demand and the largest capacity, the distance bound from an
    assignment problem over clients, trip starts and trip ends, the vehicle bound from the total
    time the work needs and the longest shift; the proofs are in the private module
    ``_routing_bounds``. Computed once per problem (a linear assignment of size ``2 n``).

    Parameters
    ----------
    problem
        A validated `CollectionProblem`.

    Returns
    -------
    RouteBounds
        ``min_trips``, ``min_vehicles``, ``distance_m`` and ``cost_vnd``.
    """
    found = _BOUNDS.get(problem)
    if found is None:
        found = _route_bounds(problem)
        _BOUNDS[problem] = found
    return found


# --------------------------------------------------------------------------------------------
# PyVRP
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SolverMap:
    """How solver locations/depots map back to the problem."""

    loc_src: npt.NDArray[np.int64]  # solver location -> matrix index
    depot_kind: tuple[tuple[StopKind, int], ...]  # solver depot -> (kind, vehicle type)
    final_landfill: npt.NDArray[np.int64]  # (n_types, n_clients) landfill of the last unload
    vnd_per_unit: float  # VND per unit of the solver's objective


def _problem_data(problem: CollectionProblem) -> tuple[pyvrp.ProblemData, _SolverMap]:
    """Translate `problem` into PyVRP's ProblemData (see the module docstring)."""
    n = problem.n_clients
    n_types = len(problem.fleet)
    loc_src: list[int] = []
    depot_kind: list[tuple[StopKind, int]] = []
    garage_pos: list[int] = []
    landfill_pos: list[list[int]] = []
    for k in range(n_types):
        garage_pos.append(len(loc_src))
        loc_src.append(problem.garage_of(k))
        depot_kind.append(("garage", k))
        landfill_pos.append([])
        for lf in problem.landfills:
            landfill_pos[k].append(len(loc_src))
            loc_src.append(lf)
            depot_kind.append(("landfill", k))
    first_client = len(loc_src)
    loc_src.extend(problem.clients)
    src = np.asarray(loc_src, dtype=np.int64)

    dist = problem.distance_m[np.ix_(src, src)].copy()
    dur = problem.duration_s[np.ix_(src, src)].copy()
    final = np.zeros((n_types, n), dtype=np.int64)
    cl_pos = np.arange(first_client, first_client + n)
    for k in range(n_types):
        g = garage_pos[k]
        for i, c in enumerate(problem.clients):
            lf, d, t = problem._home_leg(k, c)
            final[k, i] = lf
            dist[cl_pos[i], g] = d
            dur[cl_pos[i], g] = t
    dist_i = to_solver_units(dist, rounding="nearest")
    dur_i = to_solver_units(dur, rounding="up")
    np.fill_diagonal(dist_i, 0)
    np.fill_diagonal(dur_i, 0)

    locations = [pyvrp.Location(x=0.0, y=0.0, name=str(s)) for s in loc_src]
    depots = []
    for p, (kind, k) in enumerate(depot_kind):
        unload = problem.unload_s_at(k) if kind == "landfill" else 0.0
        unload_su = int(to_solver_units(unload, rounding="up"))
        depots.append(pyvrp.Depot(location=p, service_duration=unload_su, name=f"{kind}:{k}"))

    kg = to_solver_units(problem.demand_kg, rounding="up")
    comp_kg = (
        None
        if problem.compartment_kg is None
        else to_solver_units(problem.compartment_kg, rounding="up")
    )
    litres = to_solver_units(problem.demand_m3 * _M3_TO_L, rounding="up")
    early = to_solver_units(problem.tw_early_s, rounding="up")
    late = to_solver_units(problem.tw_late_s, rounding="down")
    late = np.where(np.isfinite(problem.tw_late_s), np.maximum(late, early), _INT_MAX)
    service = to_solver_units(problem.service_s, rounding="up")
    clients = []
    for i in range(n):
        pickup = [int(kg[i])] if comp_kg is None else [int(q) for q in comp_kg[i]]
        if problem.has_volume:
            pickup.append(int(litres[i]))
        clients.append(
            pyvrp.Client(
                location=int(cl_pos[i]),
                pickup=pickup,
                service_duration=int(service[i]),
                tw_early=int(early[i]),
                tw_late=int(late[i]),
                name=str(i),
            )
        )

    vnd_per_unit = _vnd_per_solver_unit(problem.fleet)
    vehicle_types = []
    for k, vt in enumerate(problem.fleet):
        cap = [int(to_solver_units(vt.capacity_kg, rounding="down"))]
        if problem.compartment_kg is not None:
            comp_cap = to_solver_units(problem.compartment_capacity_kg(k), rounding="down")
            cap = [int(q) for q in comp_cap]
        if problem.has_volume:
            cap.append(int(to_solver_units(vt.capacity_m3 * _M3_TO_L, rounding="down")))
        tw_early = int(to_solver_units(vt.shift_start_s, rounding="up"))
        if math.isfinite(vt.shift_end_s):
            tw_late = int(to_solver_units(vt.shift_end_s, rounding="down"))
            shift = tw_late - tw_early
        else:
            tw_late = shift = _INT_MAX
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=vt.count,
                capacity=cap,
                start_depot=garage_pos[k],
                end_depot=garage_pos[k],
                fixed_cost=round(vt.fixed_cost_vnd / vnd_per_unit),
                tw_early=tw_early,
                tw_late=tw_late,
                shift_duration=shift,
                unit_distance_cost=max(1, round(vt.cost_per_km_vnd / 1000 / vnd_per_unit)),
                reload_depots=landfill_pos[k],
                max_distance=int(to_solver_units(vt.range_m, rounding="down"))
                if math.isfinite(vt.range_m)
                else _INT_MAX,
                name=vt.name,
            )
        )
    # pyvrp's stubs spell the matrices ``np.ndarray[int]``, which puts int in numpy's shape slot
    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        [dist_i],  # type: ignore[list-item]
        [dur_i],  # type: ignore[list-item]
    )
    return data, _SolverMap(src, tuple(depot_kind), final, vnd_per_unit)


def _solver_data(problem: CollectionProblem) -> pyvrp.ProblemData:
    """PyVRP data of `problem` (module level, so a search process can build it)."""
    return _problem_data(problem)[0]


def _solver_map(problem: CollectionProblem) -> _SolverMap:
    """How the solver's depots and locations of `problem` map back to the matrices."""
    return _problem_data(problem)[1]


def _vnd_per_solver_unit(fleet: Fleet) -> float:
    """VND per unit of PyVRP's objective: the cheapest vehicle costs 10 units per metre.

    PyVRP's penalties for excess load (per kg or litre) and time warp (per second) are capped
    (``PenaltyParams.max_penalty``), so the objective must stay on a scale of a few units per
    metre, as in the CVRP benchmarks it is tuned on; 10 per metre keeps per-km cost ratios between
    vehicle types to within 5 %.
    """
    costs = [vt.cost_per_km_vnd for vt in fleet if vt.cost_per_km_vnd > 0]
    ref = min(costs) if costs else 1000.0
    return ref / 1000.0 / 10.0


def _routes_from_visits(
    problem: CollectionProblem, visits: Visits, smap: _SolverMap
) -> list[VehicleRoute]:
    routes = []
    for k, acts in visits:
        g = problem.garage_of(k)
        locs: list[int] = [g]
        kinds: list[StopKind] = ["garage"]
        cls_: list[int] = [-1]
        for is_client, idx in acts:
            if is_client:
                locs.append(problem.clients[idx])
                kinds.append("client")
                cls_.append(idx)
            else:
                locs.append(int(smap.loc_src[idx]))
                kinds.append("landfill")
                cls_.append(-1)
        if kinds[-1] == "client":
            locs.append(int(smap.final_landfill[k, cls_[-1]]))
            kinds.append("landfill")
            cls_.append(-1)
        if len(locs) == 1:
            continue
        locs.append(g)
        kinds.append("garage")
        cls_.append(-1)
        routes.append(_build_route(problem, k, locs, kinds, cls_))
    return routes


def _visits_from_plan(plan: CollectionPlan, smap: _SolverMap) -> Visits:
    """Express `plan` as solver visits: middle unloads become reloads, the last is folded.

    Each vehicle type has its own copies of the landfills among the solver's depots
    (`_problem_data`); the final unload is part of the client → garage edge.
    """
    depot_of = {
        (k, int(smap.loc_src[d])): d
        for d, (kind, k) in enumerate(smap.depot_kind)
        if kind == "landfill"
    }
    return tuple(
        (
            route.vehicle_type,
            tuple(
                (True, s.client)
                if s.kind == "client"
                else (False, depot_of[route.vehicle_type, s.location])
                for s in route.stops[1:-2]  # without the garages and the final unload
            ),
        )
        for route in plan.routes
        if route.clients
    )


def _search_fleet(problem: CollectionProblem, start: CollectionPlan | None) -> Fleet:
    """Offer the search what the starting plan uses, plus a margin per vehicle type.

    A type is counted in the vehicles the start uses, or in its trips when the type has no
    fixed cost (a free vehicle per trip then costs nothing and gives PyVRP plain routes instead
    of reloads, which its operators handle better). The margin (2, or 15 %, whichever is more)
    leaves the search room to move work between vehicles; without a complete starting plan the
    whole fleet is offered.
    """
    if start is None:
        return problem.fleet
    used = [0] * len(problem.fleet)
    for r in start.routes:
        free = problem.fleet[r.vehicle_type].fixed_cost_vnd == 0
        used[r.vehicle_type] += r.trips if free else 1
    return Fleet(
        tuple(
            replace(vt, count=min(vt.count, u + max(2, math.ceil(0.15 * u))))
            for vt, u in zip(problem.fleet, used, strict=True)
        )
    )


def solve(
    problem: CollectionProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    max_iterations: int | None = None,
    no_improvement: int | None = DEFAULT_NO_IMPROVEMENT,
    baseline: CollectionPlan | None = None,
    workers: int = 1,
) -> CollectionPlan:
    """Optimise the collection routes: constructive plans, then PyVRP's iterated local search.

    1. Constructive plans: `nearest_neighbour_plan`, `savings_plan` and `baseline` (the ward's
       current routes) when given; those that pass `check_plan` are candidates, and the
       cheapest is the search's warm start.
    2. The fleet offered to the search is what that start uses plus a margin (2 vehicles or
       15 %, per vehicle type), not the whole fleet: a search over many idle trucks wanders.
    3. `workers` independent searches (seeds ``seed``, ``seed + 1``, ...) in parallel
       processes, each stopped by its progress rule (`no_improvement`, `max_iterations`) or
       the time cap; the best plan wins, ties to the lower seed.
    4. The cheapest of the search's plan and the constructive candidates is returned
       (``origin`` says which), with the lower bound, the gap and the status.

    With a progress rule and a time cap that is not reached, the plan depends only on the
    problem, `seed`, `workers` and the rules: the same on an idle and on a busy machine.

    Parameters
    ----------
    problem
        A validated `CollectionProblem`.
    time_limit_s
        Wall-clock cap for the whole call, in seconds (construction, then the search); a safety
        net when a progress rule is given.
    seed
        Random seed of the first search (the search is reproducible for a given seed and
        iteration count).
    max_iterations
        Optional cap on the iterations of each search.
    no_improvement
        Stop a search after this many iterations without a better plan (`DEFAULT_NO_IMPROVEMENT`;
        ``None`` runs to the other limits). A search that has no feasible plan yet goes on.
    baseline
        The ward's current routes (e.g. from `plan_from_sequences`): a candidate and possible
        warm start when it passes `check_plan`.
    workers
        Number of independent searches, run in parallel processes started with ``spawn`` (1:
        one search, in this process); a script that calls `solve` with ``workers > 1`` needs
        the usual ``if __name__ == "__main__":`` guard.

    Returns
    -------
    CollectionPlan
        Routes with explicit unloads (the last one before the garage), times and loads
        recomputed from the matrices; never costlier than a feasible constructive candidate.
        ``solver_feasible`` is PyVRP's verdict on its own plan; a plan that is not feasible (too
        few vehicles for the shift, say) is still returned so `check_plan` can say why.

    Raises
    ------
    ValidationError
        If `workers` is below 1 or `time_limit_s` is not positive.

    Examples
    --------
    Garage at 0 km, two points at 1 and 2 km, the landfill at 3 km on one straight road:

    >>> x = np.array([0.0, 3.0, 1.0, 2.0]) * 1000
    >>> dist = np.abs(x[:, None] - x[None, :])
    >>> problem = CollectionProblem.from_matrices(
    ...     dist / 8, dist, garage=0, landfills=[1], clients=[2, 3],
    ...     demand_kg=[900.0, 1200.0], service_s=120, fleet=Fleet((VehicleType(),)))
    >>> plan = solve(problem, time_limit_s=1, max_iterations=100)
    >>> plan.routes[0].locations, plan.total_km, check_plan(problem, plan), plan.status
    ((0, 2, 3, 1, 0), 6.0, [], 'optimal')
    """
    t0 = time.perf_counter()
    if workers < 1 or not time_limit_s > 0:
        msg = f"solve needs workers >= 1 and time_limit_s > 0; got {workers} and {time_limit_s}."
        raise ValidationError(msg)
    if problem.n_clients == 0:
        return _assemble_plan(
            problem, [], method="pyvrp", solve_s=0.0, solver_cost_vnd=0.0, solver_feasible=True
        )
    candidates: list[tuple[str, CollectionPlan]] = []
    starts = [("nearest_neighbour", nearest_neighbour_plan(problem))]
    starts.append(("savings", savings_plan(problem)))
    if baseline is not None:
        starts.append(("baseline", baseline))
    for name, plan in starts:
        issues = check_plan(problem, plan)
        if issues:
            log.info("solve: %s plan not a candidate (%d violations)", name, len(issues))
        else:
            candidates.append((name, plan))
    # the search must beat a constructive plan to be named: ties go to the constructive one
    order = {"baseline": 0, "savings": 1, "nearest_neighbour": 2, "search": 3}
    start = min(candidates, key=lambda c: (c[1].cost_vnd, order[c[0]])) if candidates else None

    search_problem = replace(
        problem, fleet=_search_fleet(problem, None if start is None else start[1])
    )
    smap = _solver_map(search_problem)
    initial = None if start is None else _visits_from_plan(start[1], smap)
    deadline = time.time() + max(0.05, time_limit_s - (time.perf_counter() - t0))
    build = functools.partial(_solver_data, search_problem)
    spec = SearchSpec(build, initial, deadline, max_iterations, no_improvement)
    seeds = [seed + w for w in range(workers)]
    outcomes = run_searches(spec, seeds, workers=workers)
    if any(o.penalty_bound for o in outcomes):
        log.warning("solve: PyVRP penalty bound reached (hard or infeasible instance)")

    searched: list[tuple[float, int, CollectionPlan, SearchOutcome]] = []
    for w, out in enumerate(outcomes):
        routes = _routes_from_visits(problem, out.best, smap)
        plan = _assemble_plan(problem, routes, method="pyvrp", solve_s=0.0)
        ok = not check_plan(problem, plan)
        searched.append((plan.cost_vnd if ok else math.inf, w, plan, out))
    cost, _, found, out = min(searched, key=lambda x: x[:2])
    if math.isfinite(cost):
        candidates.append(("search", found))
    if candidates:
        ranked = sorted(candidates, key=lambda c: (c[1].cost_vnd, order[c[0]]))
        origin, winner = ranked[0]
        runner_up = ranked[1][1].cost_vnd if len(ranked) > 1 else winner.cost_vnd
    else:
        origin, winner, runner_up = "search", found, found.cost_vnd
    margin = 100.0 * (runner_up - winner.cost_vnd) / runner_up if runner_up > 0 else 0.0
    plan = _assemble_plan(
        problem,
        winner.routes,
        method="pyvrp",
        solve_s=time.perf_counter() - t0,
        solver_cost_vnd=out.cost * smap.vnd_per_unit if out.feasible else math.inf,
        solver_feasible=out.feasible,
        origin=origin,
    )
    status: PlanStatus = plan.status
    if status != "optimal" and any(o.stop_reason == "time_limit" for o in outcomes):
        status = "time_limit"
    plan = replace(
        plan,
        origin_saving_pct=float(margin),
        candidate_costs_vnd=tuple((name, float(p.cost_vnd)) for name, p in candidates),
        status=status,
        seed=seed,
        workers=workers,
        iterations=out.iterations,
        stop_reason=out.stop_reason,
    )
    log.info(
        "solve: %d clients, %d vehicles, %d trips, %.1f km, origin %s (%.2f %% below the next), "
        "gap %.1f %%, %s, %d iterations (%s) in %.1f s",
        problem.n_clients,
        plan.vehicles_used,
        plan.trips,
        plan.total_km,
        origin,
        margin,
        plan.gap_pct,
        plan.status,
        out.iterations,
        out.stop_reason,
        plan.solve_s,
    )
    if out.stop_reason == "stopped":
        log.info("solve: stopped on request after %d iterations", out.iterations)
    elif not out.feasible:
        log.warning("solve: PyVRP found no feasible plan in %.1f s; see check_plan()", time_limit_s)
    return plan


# --------------------------------------------------------------------------------------------
# Independent check
# --------------------------------------------------------------------------------------------


def check_plan(
    problem: CollectionProblem, plan: CollectionPlan, *, tol_s: float = 1e-3
) -> list[str]:
    """List what is wrong with `plan`, recomputed from the problem's matrices alone.

    Independent of the solver: loads are summed from the demands, times replayed from the
    duration matrix, service and unload times.

    Parameters
    ----------
    problem
        The problem the plan claims to solve.
    plan
        Any plan (optimised, baseline, user-supplied, or edited by hand).
    tol_s
        Tolerance on times, seconds.

    Returns
    -------
    list[str]
        One message per violation; empty when the plan is feasible: every client visited exactly
        once; each trip within capacity (kg and m³); each route leaving its garage no earlier than
        its shift start, each stop reached no earlier than the previous departure plus travel
        time, loading started inside the client's time window, unloads taking their time, back at
        the garage by the shift end; every trip closed by an unload at a landfill; every day ending
        empty at the garage.
    """
    issues: list[str] = []
    visits = np.zeros(problem.n_clients, dtype=np.int64)
    used = np.zeros(len(problem.fleet), dtype=np.int64)
    landfills = set(problem.landfills)
    for r_no, route in enumerate(plan.routes):
        tag = f"route {r_no}"
        k = route.vehicle_type
        if not 0 <= k < len(problem.fleet):
            issues.append(f"{tag}: unknown vehicle type {k}")
            continue
        vt = problem.fleet[k]
        used[k] += 1
        g = problem.garage_of(k)
        stops = route.stops
        if len(stops) < 2 or stops[0].location != g or stops[-1].location != g:
            issues.append(f"{tag}: does not start and end at its garage (matrix index {g})")
            continue
        if stops[0].departure_s < vt.shift_start_s - tol_s:
            issues.append(
                f"{tag}: leaves the garage at {stops[0].departure_s:.0f} s, before "
                f"the shift starts ({vt.shift_start_s:.0f} s)"
            )
        kg = m3 = 0.0
        comp_cap = problem.compartment_capacity_kg(k)
        comp = np.zeros(len(comp_cap))
        in_trip = 0
        km = 0.0
        for p in range(1, len(stops)):
            prev, s = stops[p - 1], stops[p]
            where = f"{tag} stop {p}"
            leg_t = problem.duration_s[prev.location, s.location]
            km += problem.distance_m[prev.location, s.location] / 1000.0
            if not math.isfinite(leg_t):
                issues.append(f"{where}: no path from {prev.location} to {s.location}")
            elif s.arrival_s < prev.departure_s + leg_t - tol_s:
                issues.append(
                    f"{where}: arrives at {s.arrival_s:.0f} s but cannot be there before "
                    f"{prev.departure_s + leg_t:.0f} s"
                )
            if s.departure_s < s.arrival_s - tol_s:
                issues.append(f"{where}: leaves before it arrives")
            if s.kind == "client" or s.client >= 0:
                i = s.client
                if not 0 <= i < problem.n_clients or problem.clients[i] != s.location:
                    issues.append(f"{where}: client #{i} is not at matrix index {s.location}")
                    continue
                visits[i] += 1
                begin = s.departure_s - problem.service_s[i]
                if begin < s.arrival_s - tol_s:
                    issues.append(f"{where}: client #{i} served in less than its service time")
                if begin < problem.tw_early_s[i] - tol_s or begin > problem.tw_late_s[i] + tol_s:
                    issues.append(
                        f"{where}: client #{i} loaded at {begin:.0f} s, outside its time window "
                        f"[{problem.tw_early_s[i]:.0f}, {problem.tw_late_s[i]:.0f}] s"
                    )
                kg += problem.demand_kg[i]
                m3 += problem.demand_m3[i]
                in_trip += 1
                if kg > vt.capacity_kg + 1e-6:
                    issues.append(
                        f"{where}: trip {s.trip} carries {kg:.0f} kg > capacity "
                        f"{vt.capacity_kg:.0f} kg"
                    )
                if problem.has_volume and m3 > vt.capacity_m3 + 1e-9:
                    issues.append(
                        f"{where}: trip {s.trip} carries {m3:.2f} m3 > capacity "
                        f"{vt.capacity_m3:.2f} m3"
                    )
                if problem.compartment_kg is not None:
                    before = comp <= comp_cap + 1e-6
                    comp += problem.compartment_kg[i]
                    issues.extend(
                        f"{where}: trip {s.trip} carries {comp[c]:.0f} kg in the "
                        f"{vt.compartments[c].stream} compartment > capacity {comp_cap[c]:.0f} kg"
                        for c in np.flatnonzero((comp > comp_cap + 1e-6) & before)
                    )
            elif s.location in landfills and s.kind == "landfill":
                if s.departure_s - s.arrival_s < vt.unload_s - tol_s:
                    issues.append(f"{where}: unload at landfill shorter than {vt.unload_s:.0f} s")
                comp[:] = 0.0
                kg = m3 = 0.0
                in_trip = 0
            elif p == len(stops) - 1:
                if in_trip or kg > 0:
                    issues.append(
                        f"{tag}: the last trip ({in_trip} clients, {kg:.0f} kg) returns to the "
                        "garage without unloading at a landfill"
                    )
            else:
                issues.append(
                    f"{where}: matrix index {s.location} is neither a client of the "
                    "problem nor a landfill"
                )
            if abs(s.load_kg - kg) > 1e-6 * max(1.0, kg):
                issues.append(
                    f"{where}: reports {s.load_kg:.0f} kg on board, the demands sum to {kg:.0f} kg"
                )
        n_unloads = sum(s.kind == "landfill" for s in stops)
        if route.trips != n_unloads:
            issues.append(f"{tag}: reports {route.trips} trips but unloads {n_unloads} times")
        end = stops[-1].arrival_s
        if end > vt.shift_end_s + tol_s:
            issues.append(
                f"{tag}: back at the garage at {end:.0f} s, after the shift ends "
                f"({vt.shift_end_s:.0f} s): {end - vt.shift_end_s:.0f} s over"
            )
        if abs(km - route.km) > 1e-6 * max(1.0, km):
            issues.append(f"{tag}: reports {route.km:.3f} km, the matrix gives {km:.3f} km")
        if 1000.0 * km > vt.range_m * (1 + 1e-9):
            issues.append(
                f"{tag}: drives {km:.1f} km, beyond the {vt.range_m / 1000:.0f} km range of one "
                "charge"
            )
    for k, n_used in enumerate(used):
        if n_used > problem.fleet[k].count:
            issues.append(
                f"vehicle type {k} ({problem.fleet[k].name}) used {n_used} times, "
                f"only {problem.fleet[k].count} available"
            )
    issues.extend(
        f"client #{i} (matrix index {problem.clients[i]}) is not visited"
        for i in np.flatnonzero(visits == 0)
    )
    issues.extend(
        f"client #{i} (matrix index {problem.clients[i]}) is visited {visits[i]} times"
        for i in np.flatnonzero(visits > 1)
    )
    return issues


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------


def nearest_neighbour_plan(problem: CollectionProblem) -> CollectionPlan:
    """Greedy baseline: always drive to the nearest client that still fits, else unload.

    Each vehicle (cheapest type first) leaves its garage at the shift start and repeatedly goes
    to the nearest unserved client (by distance, ties by time) whose load still fits in the body and
    which it can serve within its time window and still unload and be back before the shift
    ends. When none fits it unloads at the nearest landfill and starts a new trip; when none would
    fit even after unloading, it makes its last unload (at the landfill on the way home) and goes
    back to the garage. Then the next vehicle starts.

    Parameters
    ----------
    problem
        A validated `CollectionProblem`.

    Returns
    -------
    CollectionPlan
        Costed like `solve`'s plans; clients left when the fleet runs out are in ``unserved``.
    """
    t0 = time.perf_counter()
    served = np.zeros(problem.n_clients, dtype=bool)
    routes: list[VehicleRoute] = []
    # the cheapest vehicle types go out first (fixed cost, then cost per km)
    order = sorted(
        range(len(problem.fleet)),
        key=lambda k: (problem.fleet[k].fixed_cost_vnd, problem.fleet[k].cost_per_km_vnd),
    )
    for k in order:
        vt = problem.fleet[k]
        g = problem.garage_of(k)
        home_t = [problem._home_leg(k, c)[2] for c in problem.clients]
        for _ in range(vt.count):
            if served.all():
                break
            locs: list[int] = [g]
            kinds: list[StopKind] = ["garage"]
            cls_: list[int] = [-1]
            now, kg, m3, pos = vt.shift_start_s, 0.0, 0.0, g
            comp = np.zeros(len(vt.compartments))
            while True:
                nxt = _nearest_fit(problem, k, home_t, served, pos, now, kg, m3, comp)
                if nxt is not None:
                    i, now = nxt
                    served[i] = True
                    pos = problem.clients[i]
                    locs.append(pos)
                    kinds.append("client")
                    cls_.append(i)
                    kg += problem.demand_kg[i]
                    m3 += problem.demand_m3[i]
                    if problem.compartment_kg is not None:
                        comp += problem.compartment_kg[i]
                    continue
                if kinds[-1] != "client":
                    break
                lf = _nearest_landfill(problem, pos)
                after = now + problem.duration_s[pos, lf] + vt.unload_s
                empty = np.zeros_like(comp)
                if _nearest_fit(problem, k, home_t, served, lf, after, 0.0, 0.0, empty) is None:
                    lf = problem._home_leg(k, pos)[0]
                    after = now + problem.duration_s[pos, lf] + vt.unload_s
                locs.append(lf)
                kinds.append("landfill")
                cls_.append(-1)
                now, pos, kg, m3 = after, lf, 0.0, 0.0
                comp[:] = 0.0
            if len(locs) == 1:
                break  # this vehicle can serve nobody; neither can the others of its type
            locs.append(g)
            kinds.append("garage")
            cls_.append(-1)
            routes.append(_build_route(problem, k, locs, kinds, cls_))
    plan = _assemble_plan(
        problem, routes, method="nearest_neighbour", solve_s=time.perf_counter() - t0
    )
    log.info(
        "nearest_neighbour_plan: %d vehicles, %d trips, %.1f km, %d unserved",
        plan.vehicles_used,
        plan.trips,
        plan.total_km,
        len(plan.unserved),
    )
    return plan


def _nearest_fit(  # the greedy step of nearest_neighbour_plan
    problem: CollectionProblem,
    k: int,
    home_t: Sequence[float],
    served: npt.NDArray[np.bool_],
    pos: int,
    now: float,
    kg: float,
    m3: float,
    comp: npt.NDArray[np.float64],
) -> tuple[int, float] | None:
    """Nearest unserved client that fits the body (and each compartment), window and shift.

    Returns its number and the time the vehicle leaves it, or ``None``. `home_t` is each client's
    time to unload and drive home (s); `comp` the load of each compartment (kg).
    """
    vt = problem.fleet[k]
    idx = np.flatnonzero(~served)
    loc = np.asarray(problem.clients, dtype=np.int64)[idx]
    d, t = problem.distance_m[pos, loc], problem.duration_s[pos, loc]
    ok = (kg + problem.demand_kg[idx] <= vt.capacity_kg + 1e-9) & np.isfinite(d) & np.isfinite(t)
    if problem.has_volume:
        ok &= m3 + problem.demand_m3[idx] <= vt.capacity_m3 + 1e-9
    if problem.compartment_kg is not None:
        cap = problem.compartment_capacity_kg(k)
        ok &= (comp + problem.compartment_kg[idx] <= cap + 1e-9).all(axis=1)
    begin = np.maximum(now + t, problem.tw_early_s[idx])
    ok &= begin <= problem.tw_late_s[idx] + _TOL_S
    leave = begin + problem.service_s[idx]
    ok &= leave + np.asarray(home_t)[idx] <= vt.shift_end_s + _TOL_S
    if not ok.any():
        return None
    # nearest by distance, then time, then client number
    first = np.flatnonzero(ok)[np.lexsort((idx[ok], t[ok], d[ok]))[0]]
    return int(idx[first]), float(leave[first])


def _nearest_landfill(problem: CollectionProblem, frm: int) -> int:
    return min(
        problem.landfills,
        key=lambda lf: (problem.distance_m[frm, lf], problem.duration_s[frm, lf]),
    )


def savings_plan(problem: CollectionProblem) -> CollectionPlan:
    """Build a plan by Clarke–Wright savings, adapted to trips with reloads and shifts.

    Trips are joined in decreasing order of the saving ``d(i, landfill) + d(landfill, j) -
    d(i, j)`` (nearest landfills: they act as the hub) while they fit the body and one shift;
    the trips are then packed, longest first, into as few vehicles as the shift and the time
    windows allow (best fit). Clarke, G. and J. W. Wright (1964), Scheduling of vehicles from a
    central depot to a number of delivery points, *Operations Research* 12(4): 568–581.

    Parameters
    ----------
    problem
        A validated `CollectionProblem`.

    Returns
    -------
    CollectionPlan
        Costed like `solve`'s plans (``method="savings"``); clients left when the fleet runs
        out are in ``unserved``.
    """
    t0 = time.perf_counter()
    routes = []
    for k, trips in savings_routes(problem):
        g = problem.garage_of(k)
        locs: list[int] = [g]
        kinds: list[StopKind] = ["garage"]
        cls_: list[int] = [-1]
        for t_no, trip in enumerate(trips):
            for i in trip:
                locs.append(problem.clients[i])
                kinds.append("client")
                cls_.append(i)
            last = t_no == len(trips) - 1
            lf = problem._home_leg(k, locs[-1])[0] if last else _nearest_landfill(problem, locs[-1])
            locs.append(lf)
            kinds.append("landfill")
            cls_.append(-1)
        locs.append(g)
        kinds.append("garage")
        cls_.append(-1)
        routes.append(_build_route(problem, k, locs, kinds, cls_))
    plan = _assemble_plan(problem, routes, method="savings", solve_s=time.perf_counter() - t0)
    log.info(
        "savings_plan: %d vehicles, %d trips, %.1f km, %d unserved",
        plan.vehicles_used,
        plan.trips,
        plan.total_km,
        len(plan.unserved),
    )
    return plan


def plan_from_sequences(
    problem: CollectionProblem,
    sequences: Sequence[Sequence[int]],
    *,
    vehicle_types: Sequence[int] | None = None,
) -> CollectionPlan:
    """Cost a given set of routes (e.g. today's routes) as a baseline.

    Parameters
    ----------
    problem
        A validated `CollectionProblem`.
    sequences
        One sequence of client numbers (positions in ``problem.clients``) per vehicle, in visiting
        order. An unload at the nearest landfill is inserted before a client that would overload
        the body, and after the last client.
    vehicle_types
        Fleet position of the vehicle driving each sequence; by default the fleet's vehicles in
        order (all of type 0, then type 1, ...).

    Returns
    -------
    CollectionPlan
        Costed and timed like `solve`'s plans; run `check_plan` to see whether it respects the
        shift and time windows.

    Raises
    ------
    ValidationError
        If a client number is out of range, or there are more sequences than vehicles.
    """
    t0 = time.perf_counter()
    if vehicle_types is None:
        pool = [k for k, vt in enumerate(problem.fleet) for _ in range(vt.count)]
        if len(sequences) > len(pool):
            msg = f"{len(sequences)} sequences for a fleet of {len(pool)} vehicles."
            raise ValidationError(msg)
        types = pool[: len(sequences)]
    else:
        types = [int(k) for k in vehicle_types]
        if len(types) != len(sequences) or any(not 0 <= k < len(problem.fleet) for k in types):
            msg = "vehicle_types must give a valid fleet position for each sequence."
            raise ValidationError(msg)
    routes = []
    for seq, k in zip(sequences, types, strict=True):
        if not len(seq):
            continue
        vt = problem.fleet[k]
        g = problem.garage_of(k)
        locs: list[int] = [g]
        kinds: list[StopKind] = ["garage"]
        cls_: list[int] = [-1]
        kg = m3 = 0.0
        comp_cap = problem.compartment_capacity_kg(k)
        comp = np.zeros(len(comp_cap))
        for i in seq:
            if not 0 <= i < problem.n_clients:
                msg = f"client number {i} is out of range (0..{problem.n_clients - 1})."
                raise ValidationError(msg)
            load = comp if problem.compartment_kg is None else comp + problem.compartment_kg[i]
            over = (
                kg + problem.demand_kg[i] > vt.capacity_kg + 1e-9
                or (problem.has_volume and m3 + problem.demand_m3[i] > vt.capacity_m3 + 1e-9)
                or bool((load > comp_cap + 1e-9).any())
            )
            if over and kinds[-1] == "client":
                locs.append(_nearest_landfill(problem, locs[-1]))
                kinds.append("landfill")
                cls_.append(-1)
                kg = m3 = 0.0
                comp[:] = 0.0
            locs.append(problem.clients[i])
            kinds.append("client")
            cls_.append(int(i))
            kg += problem.demand_kg[i]
            m3 += problem.demand_m3[i]
            if problem.compartment_kg is not None:
                comp += problem.compartment_kg[i]
        lf, _, _ = problem._home_leg(k, locs[-1])
        locs += [lf, g]
        kinds += ["landfill", "garage"]
        cls_ += [-1, -1]
        routes.append(_build_route(problem, k, locs, kinds, cls_))
    plan = _assemble_plan(problem, routes, method="sequences", solve_s=time.perf_counter() - t0)
    log.info(
        "plan_from_sequences: %d vehicles, %d trips, %.1f km",
        plan.vehicles_used,
        plan.trips,
        plan.total_km,
    )
    return plan


# --------------------------------------------------------------------------------------------
# Handcart tier
# --------------------------------------------------------------------------------------------


def plan_handcart_rounds(
    duration_s: npt.ArrayLike,
    distance_m: npt.ArrayLike,
    *,
    transfer_point: int,
    households_idx: Sequence[int],
    demand_kg: npt.ArrayLike,
    cart_capacity_kg: float = 180.0,
    cart_capacity_m3: float = 0.66,
    demand_m3: npt.ArrayLike | None = None,
    crew_shift_s: float = 4 * 3600.0,
    shift_start_s: float = 16 * 3600.0,
    service_s: npt.ArrayLike = 30.0,
    unload_s: float = 180.0,
    n_carts: int,
    stream: str | int | Sequence[str | int] | None = None,
    time_limit_s: float = 5.0,
    no_improvement: int | None = 2000,
    seed: int = 0,
) -> CollectionPlan:
    """Plan handcart / tricycle rounds that bring household waste to a transfer point.

    The same multi-trip model as the trucks: each cart starts at the transfer (gathering) point,
    collects households or alley points on the walk network and comes back to the transfer point
    to empty the cart (the transfer point is both garage and unload site), as often as needed
    within the crew's shift.

    Parameters
    ----------
    duration_s, distance_m
        Walking-speed travel times (s) and distances (m) on the walk/handcart network.
    transfer_point
        Matrix index of the gathering / transfer point.
    households_idx
        Matrix index of each household or alley collection point.
    demand_kg
        Waste per point, kg (``(n,)`` or per stream ``(n, n_streams)``).
    cart_capacity_kg
        Load per round, kg; a 660 L bin holds ≈ 150–200 kg of loose household waste (default 180).
    cart_capacity_m3
        Cart volume, m³ (0.66); only used when `demand_m3` is given.
    demand_m3
        Waste volume per point, m³, or ``None``.
    crew_shift_s
        Length of the crew's shift, s (default 4 h, an assumption).
    shift_start_s
        Start of the shift, s after midnight (default 16:00, before the trucks' night shift).
    service_s
        Time to pick up at one point, s (default 30).
    unload_s
        Time to empty the cart at the transfer point, s (default 3 min).
    n_carts
        Number of carts (crews).
    stream
        Waste stream selection, as in `CollectionProblem.from_matrices`.
    time_limit_s, no_improvement, seed
        Passed to `solve`: the search ends at the time limit or after `no_improvement`
        iterations without a better plan, whichever comes first (rounds are small).

    Returns
    -------
    CollectionPlan
        One route per cart; its ``trips`` are the cart's rounds. Fuel and CO2 are zero.

    Raises
    ------
    InfeasibleError
        If a point cannot be reached, holds more than a cart, or is too far for the shift.
    """
    cart = VehicleType(
        name="handcart 660 L",
        count=n_carts,
        capacity_kg=cart_capacity_kg,
        capacity_m3=cart_capacity_m3,
        garage=transfer_point,
        cost_per_km_vnd=1.0,  # nominal: the solver minimises walking distance
        fixed_cost_vnd=0.0,
        shift_start_s=shift_start_s,
        shift_end_s=shift_start_s + crew_shift_s,
        unload_s=unload_s,
        fuel_l_per_100km=0.0,
    )
    problem = CollectionProblem.from_matrices(
        duration_s,
        distance_m,
        garage=transfer_point,
        landfills=[transfer_point],
        clients=households_idx,
        demand_kg=demand_kg,
        demand_m3=demand_m3,
        service_s=service_s,
        fleet=Fleet((cart,)),
        stream=stream,
    )
    plan = solve(problem, time_limit_s=time_limit_s, seed=seed, no_improvement=no_improvement)
    log.info(
        "plan_handcart_rounds: %d points, %d carts used, %d rounds",
        problem.n_clients,
        plan.vehicles_used,
        plan.trips,
    )
    return replace(plan, method="handcart")
