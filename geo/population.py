"""Census population of a study area, by areal interpolation of the 2009 communes.

The 2009 Population and Housing Census is the only population layer for Hai Phong in the data
(``population/`` and the commune polygons of ``boundaries/haiphong_haiduong_admin_2009.gpkg``).
A new unit's population is the sum over the 2009 communes of their population times the share of
their area that falls inside the unit (areal weighting: uniform density within a commune). The
figure is for 2009: pass a current value (``--population``) where the ward office has one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd

from gomrac.geo.crs import METRIC_CRS
from gomrac.geo.wards import COMMUNES_2009

if TYPE_CHECKING:
    from gomrac.geo.settings import Settings
    from gomrac.geo.wards import StudyArea

log = logging.getLogger(__name__)

#: Persons per km² assumed where no census covers an area (a boundary outside Hai Phong):
#: the 2019 census densities of Hanoi's four inner districts span about 24,000–37,000 persons
#: per km²; 28,000 is a round figure inside that range (local assumption, override it).
DEFAULT_URBAN_DENSITY_PER_KM2 = 28_000.0


@dataclass(frozen=True)
class Population:
    """A population figure and where it comes from."""

    persons: float
    source: str
    year: int | None


def population_for(
    area: StudyArea, *, settings: Settings, override: float | None = None
) -> Population:
    """Estimate the population of a study area.

    Parameters
    ----------
    area
        The ward or boundary.
    override
        A figure from the user (the ward office's register), used as given.

    Returns
    -------
    Population
        Census 2009 by areal interpolation inside Hai Phong; otherwise the documented density
        assumption times the area.
    """
    if override is not None:
        return Population(float(override), "user value", None)
    path = settings.data_dir / COMMUNES_2009
    if area.in_haiphong and path.exists():
        communes = gpd.read_file(path, layer="communes_2009", bbox=tuple(area.geometry.bounds))
        if len(communes):
            communes = communes.to_crs(METRIC_CRS)
            poly = area.metric_geometry()
            share = communes.geometry.intersection(poly).area / communes.geometry.area
            persons = float((communes["pop_2009"] * share).sum())
            log.info(
                "population_for %s: %.0f persons (2009, %d communes)",
                area.name,
                persons,
                int((share > 0).sum()),
            )
            return Population(persons, "census 2009, areal interpolation of 2009 communes", 2009)
    persons = DEFAULT_URBAN_DENSITY_PER_KM2 * area.area_km2
    return Population(
        persons,
        f"assumed density {DEFAULT_URBAN_DENSITY_PER_KM2:,.0f}/km² (no census for area)",
        None,
    )
