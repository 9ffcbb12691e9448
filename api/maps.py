"""Interactive folium (Leaflet) maps of a ward's layers.

Every map carries the OSM attribution ("© OpenStreetMap contributors") and, for ward polygons,
the boundary source's attribution; layers can be switched on and off; labels are Vietnamese with
English in brackets where useful.

A written map works offline: `finish` copies the scripts and style sheets it needs (Leaflet and
the plugins its layers use, installed under ``api/static/vendor`` by ``scripts/setup.sh``) into
``lib/`` beside the HTML file and points the page at them (jQuery too: folium writes pop-ups
with it); folium's other defaults (Bootstrap, Font Awesome markers) are left out, as no layer
here uses them. The
OpenStreetMap raster background is an overlay that is off when the map opens: switched on, it
needs the internet; the ward's own streets are drawn without it.

The fixed boxes (title, credits, legend) and the pop-ups are HTML fragments rendered from the
autoescaped Jinja2 templates in ``api/templates/maps``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import folium
import geopandas as gpd
import numpy as np
from folium.plugins import HeatMap, MarkerCluster

from gomrac.analysis.errors import DataNotFoundError
from gomrac.api.templating import render
from gomrac.geo.crs import WGS84
from gomrac.geo.network import edges_gdf
from gomrac.geo.osm import OSM_ATTRIBUTION

if TYPE_CHECKING:
    from collections.abc import Iterator

    from branca.element import Element

    from gomrac.api.pipeline import WardData

PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
]
OSM_TILES_ATTR = (
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap contributors</a>'
)


class _HtmlElement(folium.Element):
    """A page element that writes its HTML `fragment` as it is.

    A `folium.Element` reads its text as a Jinja2 template: a title holding ``{{`` would be
    read as code. Here the text is a value of the element's template, written unchanged.
    """

    def __init__(self, fragment: str) -> None:
        super().__init__("{{ this.fragment }}")
        self.fragment = fragment


def base_map(data: WardData, *, title: str | None = None) -> folium.Map:
    """Draw a map centred on the study area with its boundary, roads and sensitive sites."""
    area = data.area
    c = area.geometry.representative_point()
    m = folium.Map(location=[c.y, c.x], zoom_start=15, tiles=None, control_scale=True)
    # no background tiles set the map's deepest zoom, and clustered markers need one
    m.options["max_zoom"] = 19
    folium.TileLayer(
        "OpenStreetMap",
        name="Nền OpenStreetMap – cần Internet (background, needs internet)",
        attr=OSM_TILES_ATTR,
        overlay=True,
        show=False,
    ).add_to(m)
    m.fit_bounds(
        [
            [area.geometry.bounds[1], area.geometry.bounds[0]],
            [area.geometry.bounds[3], area.geometry.bounds[2]],
        ]
    )
    heading = title or area.name
    attribution = " · ".join(data.attribution())
    _figure(m).html.add_child(
        _HtmlElement(render("maps/title.html.j2", heading=heading, attribution=attribution))
    )
    folium.GeoJson(
        area.to_gdf().__geo_interface__,
        name="Ranh giới (boundary)",
        style_function=lambda _: {
            "color": "#000",
            "weight": 3,
            "fillOpacity": 0.0,
            "dashArray": "6",
        },
        tooltip=area.name,
    ).add_to(m)
    if data.networks is not None:
        _roads(m, data)
    _sites(m, data)
    return m


def _roads(m: folium.Map, data: WardData) -> None:
    nets = data.networks
    assert nets is not None
    truck_all = edges_gdf(nets.truck)
    truck = truck_all[truck_all.intersects(nets.truck_area)][["highway", "name", "geometry"]]
    cart = edges_gdf(nets.cart)
    # an edge is cart-only when none of the OSM ways it merges is on the truck network
    truck_ways = {
        w for ids in truck_all["osmid"] for w in (ids if isinstance(ids, list) else [ids])
    }
    cart_only = cart[
        [
            not any(w in truck_ways for w in (ids if isinstance(ids, list) else [ids]))
            for ids in cart["osmid"]
        ]
    ][["highway", "name", "geometry"]]
    for gdf, name, color, weight, show in (
        (truck, "Đường xe tải (truck roads)", "#555", 2, True),
        (cart_only, "Ngõ, hẻm – chỉ xe đẩy (alleys, handcart only)", "#e6a100", 1, False),
    ):
        folium.GeoJson(
            _clean(gdf),
            name=name,
            show=show,
            style_function=lambda _, c=color, w=weight: {"color": c, "weight": w, "opacity": 0.7},
        ).add_to(m)


def _sites(m: folium.Map, data: WardData) -> None:
    sites = {
        "schools": ("Trường học (schools)", "#1f77b4"),
        "kindergartens": ("Mầm non (kindergartens)", "#6baed6"),
        "markets": ("Chợ (markets)", "#ff7f0e"),
        "hospitals": ("Y tế (hospitals, clinics)", "#d62728"),
        "worship": ("Cơ sở tôn giáo (worship)", "#9467bd"),
    }
    for layer, (label, color) in sites.items():
        gdf = data.features.layers.get(layer)
        if gdf is None or gdf.empty:
            continue
        fg = folium.FeatureGroup(name=label, show=False)
        for _, row in gdf.iterrows():
            p = row.geometry.representative_point()
            folium.CircleMarker(
                [p.y, p.x],
                radius=6,
                color="#ffffff",
                weight=1.5,
                fill=True,
                fill_color=color,
                fill_opacity=0.95,
                tooltip=str(row.get("name") or label),
            ).add_to(fg)
        fg.add_to(m)
    water = data.features.layers.get("water")
    if water is not None and len(water):
        folium.GeoJson(
            _clean(water[["name", "kind", "geometry"]]),
            name="Mặt nước (water)",
            show=False,
            style_function=lambda _: {
                "color": "#3388ff",
                "fillColor": "#3388ff",
                "fillOpacity": 0.4,
            },
        ).add_to(m)
    if len(data.facilities):
        fg = folium.FeatureGroup(name="Cơ sở xử lý (waste facilities)", show=True)
        for _, row in data.facilities.iterrows():
            folium.RegularPolygonMarker(
                [row.geometry.y, row.geometry.x],
                number_of_sides=4,
                radius=9,
                color="#ffffff",
                weight=1.5,
                fill=True,
                fill_color="#8b0000",
                fill_opacity=0.95,
                popup=folium.Popup(
                    render(
                        "maps/facility_popup.html.j2",
                        name=str(row["name"]),
                        precision=str(row["location_precision"]),
                    ),
                    max_width=320,
                ),
            ).add_to(fg)
        fg.add_to(m)


def add_points(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    color: str,
    popup_cols: list[str] | None = None,
    radius: float = 6,
    show: bool = True,
    cluster: bool = False,
) -> None:
    """Add point features as circle markers (clustered when many) with popups."""
    if gdf is None or gdf.empty:
        return
    gdf = gdf.to_crs(WGS84)
    fg: Any = folium.FeatureGroup(name=name, show=show)
    target = MarkerCluster().add_to(fg) if cluster else fg
    for _, row in gdf.iterrows():
        p = row.geometry.representative_point()
        rows = [(str(c), _fmt(row[c])) for c in (popup_cols or []) if c in row]
        folium.CircleMarker(
            [p.y, p.x],
            radius=radius,
            color=color,
            fill=True,
            fill_opacity=0.8,
            popup=(
                folium.Popup(render("maps/point_popup.html.j2", rows=rows), max_width=320)
                if rows
                else None
            ),
        ).add_to(target)
    fg.add_to(m)


def add_polygons(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    color: str,
    show: bool = False,
    tooltip_cols: list[str] | None = None,
    opacity: float = 0.25,
) -> None:
    """Add polygons or lines (zones, catchments, routes) with a fixed colour."""
    if gdf is None or gdf.empty:
        return
    cols = [c for c in (tooltip_cols or []) if c in gdf]
    folium.GeoJson(
        _clean(gdf.to_crs(WGS84)[[*cols, "geometry"]]),
        name=name,
        show=show,
        style_function=lambda _: {
            "color": color,
            "weight": 2,
            "fillColor": color,
            "fillOpacity": opacity,
        },
        tooltip=folium.GeoJsonTooltip(fields=cols) if cols else None,
    ).add_to(m)


def add_routes(
    m: folium.Map, routes: gpd.GeoDataFrame, stops: gpd.GeoDataFrame | None = None
) -> None:
    """Add collection routes coloured by vehicle, with a popup per stop."""
    if routes is None or routes.empty:
        return
    routes = routes.to_crs(WGS84)
    for i, (vehicle, group) in enumerate(routes.groupby("vehicle", sort=True)):
        color = PALETTE[i % len(PALETTE)]
        fg = folium.FeatureGroup(name=f"Tuyến thu gom – xe {vehicle} (route)", show=True)
        for _, row in group.iterrows():
            folium.PolyLine(
                [(y, x) for x, y in row.geometry.coords],
                color=color,
                weight=4,
                opacity=0.8,
                tooltip=f"Xe {vehicle}, chuyến {row.get('trip', '')}",
            ).add_to(fg)
        if stops is not None and len(stops):
            for _, s in stops[stops["vehicle"] == vehicle].to_crs(WGS84).iterrows():
                folium.CircleMarker(
                    [s.geometry.y, s.geometry.x],
                    radius=5,
                    color=color,
                    fill=True,
                    popup=folium.Popup(
                        render(
                            "maps/stop_popup.html.j2",
                            name=str(s.get("name", "")),
                            arrival=str(s.get("arrival", "")),
                            load_kg=_fmt(s.get("load_kg", "")),
                        ),
                        max_width=300,
                    ),
                ).add_to(fg)
        fg.add_to(m)


def add_heatmap(m: folium.Map, points: gpd.GeoDataFrame, *, name: str, show: bool = True) -> None:
    """Add a heat map of point features (e.g. dumping reports)."""
    if points is None or points.empty:
        return
    pts = points.to_crs(WGS84)
    HeatMap([[p.y, p.x] for p in pts.geometry], name=name, show=show, radius=14).add_to(m)


def _figure(m: folium.Map) -> folium.Figure:
    """Return the HTML page a map is drawn on."""
    root = m.get_root()
    assert isinstance(root, folium.Figure)  # a Map's root is always its Figure
    return root


def add_legend(m: folium.Map, entries: list[tuple[str, str]]) -> None:
    """Add a fixed legend box: (colour, label) pairs."""
    _figure(m).html.add_child(_HtmlElement(render("maps/legend.html.j2", entries=entries)))


#: Where ``scripts/setup.sh`` installs Leaflet and its plugins (one folder per npm package).
VENDOR_DIR: Final = Path(__file__).resolve().parent / "static" / "vendor"
#: The folder beside a written map that holds its scripts and style sheets.
LIB_DIR: Final = "lib"
#: The local copy of each script or style sheet folium's elements ask for, by folium's name:
#: (vendored package, file); None for those no layer of ours uses, left out of the page.
LOCAL_ASSETS: Final[dict[str, tuple[str, str] | None]] = {
    "leaflet": ("leaflet", "leaflet.js"),
    "leaflet_css": ("leaflet", "leaflet.css"),
    "markerclusterjs": ("leaflet.markercluster", "leaflet.markercluster.js"),
    "markerclustercss": ("leaflet.markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": ("leaflet.markercluster", "MarkerCluster.Default.css"),
    "leaflet-heat.js": ("leaflet.heat", "leaflet-heat.js"),
    "jquery": ("jquery", "jquery.min.js"),  # folium writes its pop-ups with it
    "bootstrap": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}
#: What is copied of each vendored package: its files and folders (licence included).
_PACKAGE_FILES: Final[dict[str, tuple[str, ...]]] = {
    "leaflet": ("leaflet.js", "leaflet.css", "images", "LICENSE"),
    "leaflet.markercluster": (
        "leaflet.markercluster.js",
        "MarkerCluster.css",
        "MarkerCluster.Default.css",
        "MIT-LICENCE.txt",
    ),
    "leaflet.heat": ("leaflet-heat.js", "LICENSE"),
    "jquery": ("jquery.min.js", "LICENSE.txt"),
}


def finish(m: folium.Map, out: Path) -> Path:
    """Add the layer control and write a standalone HTML file that works offline.

    The scripts and style sheets the map's elements need are copied into ``lib/`` beside
    `out` and referenced relatively (`use_local_assets`).

    Raises
    ------
    DataNotFoundError
        If Leaflet or a plugin the map needs is not installed (run ``scripts/setup.sh``).
    """
    folium.LayerControl(collapsed=False).add_to(m)
    _figure(m).script.add_child(
        folium.Element(
            # the credit in Leaflet's own corner too, whichever layers are on
            "window.addEventListener('load', function () { "
            f"{m.get_name()}.attributionControl.addAttribution({_js_string(OSM_ATTRIBUTION)}); "
            "});"
        )
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    packages = use_local_assets(m)
    copy_assets(packages, out.parent / LIB_DIR)
    m.save(str(out))
    return out


def use_local_assets(m: folium.Map) -> set[str]:
    """Point every element of `m` at the local copies of its scripts and style sheets.

    Returns
    -------
    set of str
        The vendored packages the map needs (folders of `VENDOR_DIR`).

    Raises
    ------
    ValueError
        If an element asks for a script or style sheet with no local copy in `LOCAL_ASSETS`.
    """
    packages: set[str] = set()
    for element in _elements(m.get_root()):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if name not in LOCAL_ASSETS:
                    msg = (
                        f"{type(element).__name__} loads {name!r} from {url}: give it a local "
                        "copy (scripts/setup.sh, then LOCAL_ASSETS in gomrac.api.maps)"
                    )
                    raise ValueError(msg)
                asset = LOCAL_ASSETS[name]
                if asset is None:
                    continue
                package, file = asset
                packages.add(package)
                local.append((name, f"{LIB_DIR}/{package}/{file}"))
            setattr(element, attr, local)
    return packages


def copy_assets(packages: set[str], lib: Path) -> None:
    """Copy the vendored `packages` into `lib` (one folder each), replacing older copies."""
    for package in sorted(packages):
        source = VENDOR_DIR / package
        names = _PACKAGE_FILES.get(package, ())
        missing = [n for n in names if not (source / n).exists()]
        if not names or missing:
            msg = (
                f"{package} is not installed under {source} (missing {missing or names}): "
                "run scripts/setup.sh"
            )
            raise DataNotFoundError(msg)
        target = lib / package
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            if (source / name).is_dir():
                shutil.copytree(source / name, target / name, dirs_exist_ok=True)
            else:
                shutil.copyfile(source / name, target / name)


def _elements(root: Element) -> Iterator[Element]:
    """Every element of a folium tree, `root` first."""
    stack = [root]
    while stack:
        element = stack.pop()
        yield element
        stack.extend(element._children.values())


def _js_string(text: str) -> str:
    """Write `text` as a JavaScript string literal (JSON's, which JavaScript reads)."""
    return json.dumps(text, ensure_ascii=False)


def _clean(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """GeoJSON of a frame with list and NaN values turned into strings folium can serialise."""
    gdf = gdf.copy()
    for col in gdf.columns:
        if col != "geometry":
            gdf[col] = gdf[col].map(_fmt)
    geojson: dict[str, Any] = gdf.to_crs(WGS84).__geo_interface__
    return geojson


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:,.1f}"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


__all__ = [
    "OSM_ATTRIBUTION",
    "add_heatmap",
    "add_legend",
    "add_points",
    "add_polygons",
    "add_routes",
    "base_map",
    "finish",
]


def add_points_layers(m: Any, plan: Any) -> None:
    """Put a points plan's layers on a map: existing, proposed, uncovered, zones, catchments."""
    add_polygons(
        m,
        plan.zones,
        name="Vùng cấm đặt điểm (exclusion zones)",
        color="#d62728",
        tooltip_cols=["rule", "site"],
        opacity=0.15,
    )
    walk_m = plan.summary["walk_m"]
    add_polygons(
        m,
        plan.catchments,
        name=f"Vùng đi bộ {walk_m:g} m (walking catchments)",
        color="#2ca02c",
        opacity=0.08,
    )
    add_points(
        m,
        plan.existing,
        name="Điểm tập kết hiện có (existing points)",
        color="#1f77b4",
        popup_cols=["name", "bins_660l", "source"],
        radius=7,
    )
    add_points(
        m,
        plan.proposed,
        name="Điểm tập kết đề xuất (proposed points)",
        color="#2ca02c",
        popup_cols=[
            "point_id",
            "street",
            "households",
            "kg_per_day",
            "bins_660l",
            "bins_240l",
            "rules",
        ],
        radius=8,
    )
    add_points(
        m,
        plan.uncovered,
        name="Hộ chưa được phục vụ (uncovered households)",
        color="#ff7f0e",
        popup_cols=["households", "walk_m", "reason"],
        radius=3,
        show=False,
        cluster=True,
    )
    add_legend(
        m,
        [
            ("#1f77b4", "Điểm hiện có (existing)"),
            ("#2ca02c", "Điểm đề xuất (proposed)"),
            ("#ff7f0e", "Hộ chưa phục vụ (uncovered)"),
            ("#d62728", "Vùng cấm (excluded)"),
        ],
    )
