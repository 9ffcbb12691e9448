"""Walking coverage: how far each household walks to its nearest gathering point.

Distances are network distances over the handcart/walk network, from all demand units at once
(one multi-source Dijkstra from every gathering point), never straight lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gomrac.analysis._validate import require_metric
from gomrac.analysis.distance import GraphArrays, nearest_source_cost
from gomrac.analysis.errors import ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Coverage:
    """Walking coverage of a set of gathering points.

    Attributes
    ----------
    walk_m
        Network walking distance (m) from each demand unit to its nearest point (``inf`` if none).
    nearest
        Position in the points frame of that point (−1 if none reachable).
    covered
        Whether the walk is within the threshold.
    max_walk_m
        The threshold, metres.
    households
        Households per demand unit.
    """

    walk_m: np.ndarray
    nearest: np.ndarray
    covered: np.ndarray
    max_walk_m: float
    households: np.ndarray

    @property
    def covered_share(self) -> float:
        """Share of households within the threshold, 0..1."""
        total = float(self.households.sum())
        return float(self.households[self.covered].sum() / total) if total else 1.0

    def by_group(self, groups: pd.Series) -> pd.DataFrame:
        """Households, covered households and share per residential group.

        Parameters
        ----------
        groups
            Group id per demand unit (same order as the demand frame).
        """
        df = pd.DataFrame(
            {
                "group_id": np.asarray(groups),
                "households": self.households,
                "covered": np.where(self.covered, self.households, 0.0),
            }
        )
        out = df.groupby("group_id", sort=True).sum()
        out["covered_share"] = out["covered"] / out["households"].where(out["households"] > 0, 1.0)
        return out

    def stats(self) -> dict[str, float]:
        """Household-weighted walking figures over the reachable units (metres)."""
        reach = np.isfinite(self.walk_m)
        w = self.households[reach]
        walks = self.walk_m[reach]
        if not len(walks) or w.sum() == 0:
            return {
                "covered_pct": 100 * self.covered_share,
                "mean_walk_m": float("nan"),
                "max_walk_m": float("nan"),
                "p95_walk_m": float("nan"),
            }
        order = np.argsort(walks)
        cum = np.cumsum(w[order]) / w.sum()
        return {
            "covered_pct": 100 * self.covered_share,
            "mean_walk_m": float(np.average(walks, weights=w)),
            "max_walk_m": float(walks.max()),
            "p95_walk_m": float(walks[order][np.searchsorted(cum, 0.95)]),
        }


def walking_coverage(
    demand: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    walk: GraphArrays,
    *,
    max_walk_m: float = 300.0,
) -> Coverage:
    """Measure the walking distance from every demand unit to its nearest gathering point.

    Parameters
    ----------
    demand
        Demand units with a ``households`` column, EPSG:32648.
    points
        Gathering points, EPSG:32648 (may be empty: nobody is covered).
    walk
        The handcart/walk network as arrays (``weight="length"``).
    max_walk_m
        Walking threshold, metres (300 by default, a parameter of every plan).

    Returns
    -------
    Coverage
        Per-unit walks, nearest point and coverage flag.
    """
    require_metric(demand, "demand")
    require_metric(points, "points")
    if max_walk_m <= 0:
        msg = f"max_walk_m must be positive, got {max_walk_m}"
        raise ValidationError(msg)
    if walk.weight != "length":
        msg = "walking coverage needs a length-weighted network"
        raise ValidationError(msg)
    cost, which = nearest_source_cost(walk, points.geometry, demand.geometry)
    hh = demand["households"].to_numpy(dtype=float)
    cov = Coverage(
        walk_m=cost, nearest=which, covered=cost <= max_walk_m, max_walk_m=max_walk_m, households=hh
    )
    log.info(
        "walking_coverage: %d units, %d points, %.1f%% of households within %.0f m",
        len(demand),
        len(points),
        100 * cov.covered_share,
        max_walk_m,
    )
    return cov
