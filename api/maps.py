"""Interactive folium (Leaflet) maps of a ward's layers.

Every map carries the OSM attribution ("© OpenStreetMap contributors") and, for ward polygons,
the boundary source's attribution; layers can be switched on and off; labels are Vietnamese with
English in brackets where useful.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
from folium.plugins import HeatMap, MarkerCluster

from gomrac.geo.crs import WGS84
from gomrac.geo.network import edges_gdf
from gomrac.geo.osm import OSM_ATTRIBUTION

if TYPE_CHECKING:
    from pathlib import Path

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


def base_map(data: WardData, *, title: str | None = None) -> folium.Map:
    """Draw a map centred on the study area with its boundary, roads and sensitive sites."""
    area = data.area
    c = area.geometry.representative_point()
    m = folium.Map(location=[c.y, c.x], zoom_start=15, tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_TILES_ATTR).add_to(m)
    m.fit_bounds(
        [
            [area.geometry.bounds[1], area.geometry.bounds[0]],
            [area.geometry.bounds[3], area.geometry.bounds[2]],
        ]
    )
    heading = title or area.name
    attribution = " · ".join(data.attribution())
    _figure(m).html.add_child(
        folium.Element(
            f'<div id="gomrac-title" style="position:fixed;top:8px;left:50px;z-index:9999;'
            f"background:white;padding:4px 8px;border-radius:4px;font:14px sans-serif;"
            f'box-shadow:0 0 4px #888"><b>{_esc(heading)}</b></div>'
            f'<div id="gomrac-attribution" style="position:fixed;bottom:18px;left:8px;z-index:9999;'
            f'background:rgba(255,255,255,.85);padding:2px 6px;font:11px sans-serif">'
            f"{_esc(attribution)}</div>"
        )
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
    icons = {
        "schools": ("Trường học (schools)", "blue", "graduation-cap"),
        "kindergartens": ("Mầm non (kindergartens)", "lightblue", "child"),
        "markets": ("Chợ (markets)", "orange", "shopping-cart"),
        "hospitals": ("Y tế (hospitals, clinics)", "red", "plus"),
        "worship": ("Cơ sở tôn giáo (worship)", "purple", "star"),
    }
    for layer, (label, color, icon) in icons.items():
        gdf = data.features.layers.get(layer)
        if gdf is None or gdf.empty:
            continue
        fg = folium.FeatureGroup(name=label, show=False)
        for _, row in gdf.iterrows():
            p = row.geometry.representative_point()
            folium.Marker(
                [p.y, p.x],
                tooltip=str(row.get("name") or label),
                icon=folium.Icon(color=color, icon=icon, prefix="fa"),
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
            folium.Marker(
                [row.geometry.y, row.geometry.x],
                popup=folium.Popup(
                    f"<b>{_esc(row['name'])}</b><br>Vị trí: {_esc(row['location_precision'])}",
                    max_width=320,
                ),
                icon=folium.Icon(color="darkred", icon="trash", prefix="fa"),
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
        html = "<br>".join(
            f"<b>{_esc(c)}</b>: {_esc(_fmt(row[c]))}" for c in (popup_cols or []) if c in row
        )
        folium.CircleMarker(
            [p.y, p.x],
            radius=radius,
            color=color,
            fill=True,
            fill_opacity=0.8,
            popup=folium.Popup(html, max_width=320) if html else None,
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
                        f"<b>{_esc(s.get('name', ''))}</b><br>Giờ đến (arrival): "
                        f"{_esc(s.get('arrival', ''))}<br>"
                        f"Tải (load): {_esc(_fmt(s.get('load_kg', '')))} kg",
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
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;'
        f'background:{c};margin-right:6px"></span>{_esc(t)}</div>'
        for c, t in entries
    )
    _figure(m).html.add_child(
        folium.Element(
            f'<div id="gomrac-legend" style="position:fixed;bottom:40px;right:10px;z-index:9999;'
            f'background:white;padding:6px 10px;font:12px sans-serif;box-shadow:0 0 4px #888">'
            f"{rows}</div>"
        )
    )


def finish(m: folium.Map, out: Path) -> Path:
    """Add the layer control and write a standalone HTML file."""
    folium.LayerControl(collapsed=False).add_to(m)
    out.parent.mkdir(parents=True, exist_ok=True)
    m.save(str(out))
    return out


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


def _esc(text: object) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


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
