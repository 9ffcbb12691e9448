/* The ward map: layers from /api/layers, drawn with the app's own Leaflet; the large base layers
   (streets, buildings) as vector tiles through Leaflet.VectorGrid when the server has it, the
   others as GeoJSON. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("gomrac-config").textContent);
  var lang = config.lang;
  var words = config.words;
  var statusEl = document.getElementById("map-status");
  var state = { ready: false, layers: {}, truckGroups: {}, visibleTrucks: {}, tilesLoaded: {} };
  window.gomracMap = state;

  function setStatus(text) { if (statusEl) { statusEl.textContent = text; } }

  if (typeof L === "undefined") {
    setStatus(words.no_leaflet);
    document.body.dataset.ready = "error";
    return;
  }

  var map = L.map("map", { zoomControl: true, preferCanvas: false });
  state.map = map;
  map.createPane("base"); map.getPane("base").style.zIndex = 350;
  map.createPane("areas"); map.getPane("areas").style.zIndex = 400;
  map.createPane("lines"); map.getPane("lines").style.zIndex = 450;
  map.createPane("dots"); map.getPane("dots").style.zIndex = 620;
  map.createPane("stops"); map.getPane("stops").style.zIndex = 640;
  var baseRenderer = L.canvas({ pane: "base" });
  map.attributionControl.setPrefix(false);

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(value) {
    if (typeof value === "number") {
      return value.toLocaleString(lang === "vi" ? "vi-VN" : "en-GB", { maximumFractionDigits: 1 });
    }
    return String(value);
  }
  function popupHtml(spec, props) {
    var title = lang === "vi" ? spec.title_vi : spec.title_en;
    function prop(f) { return lang === "vi" ? f[0] : (f[3] || f[0]); }
    var rows = spec.fields.filter(function (f) {
      var v = props[prop(f)];
      return v !== null && v !== undefined && v !== "";
    }).map(function (f) {
      return "<tr><th>" + esc(lang === "vi" ? f[1] : f[2]) + "</th><td>" + esc(fmt(props[prop(f)])) + "</td></tr>";
    });
    return '<div class="popup"><h4>' + esc(title) + "</h4><table>" + rows.join("") + "</table></div>";
  }

  var STYLES = {
    boundary: { pane: "areas", color: "#000", weight: 3, dashArray: "6 4", fill: false, interactive: false },
    streets: function (f) {
      var truck = f.properties.access === "truck";
      return { pane: "base", renderer: baseRenderer, color: truck ? "#6b6b6b" : "#c4b08a", weight: truck ? 2.5 : 1.2, opacity: 0.9 };
    },
    buildings: { pane: "base", renderer: baseRenderer, color: "#9a8f85", weight: 0.5, fillColor: "#cfc6bd", fillOpacity: 0.8, interactive: false },
    groups: { pane: "areas", color: "#2e7d32", weight: 1.5, fillOpacity: 0.05, dashArray: "3 3" },
    hotspots: { pane: "areas", color: "#7b1fa2", weight: 2, fillColor: "#9467bd", fillOpacity: 0.3, className: "gomrac-hotspot" },
    routes: function (f) { return { pane: "lines", color: f.properties.colour, weight: 4, opacity: 0.85, className: "gomrac-route" }; }
  };
  function pointStyle(name, props) {
    if (name === "points") {
      var existing = props.status === "existing";
      return { pane: "dots", radius: 7, color: "#fff", weight: 1.5, fillColor: existing ? "#1f77b4" : "#2ca02c", fillOpacity: 1, className: "gomrac-point" };
    }
    if (name === "stops") {
      return { pane: "stops", radius: props.kind === "client" ? 4 : 6, color: "#222", weight: 1, fillColor: props.colour, fillOpacity: 1, className: "gomrac-stop gomrac-stop-" + props.kind };
    }
    if (name === "cameras") {
      return { pane: "dots", radius: 5, color: "#000", weight: 1, fillColor: props.status === "existing" ? "#888" : "#000", fillOpacity: 0.9, className: "gomrac-camera" };
    }
    if (name === "reports") {
      return { pane: "dots", radius: 2.5, color: "#c0392b", weight: 0, fillColor: "#c0392b", fillOpacity: 0.7, className: "gomrac-report" };
    }
    return { pane: "dots", radius: 4 };
  }

  function fetchAll(url, features) {
    return fetch(url, { headers: { Accept: "application/geo+json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    }).then(function (fc) {
      features = features.concat(fc.features);
      return fc.next ? fetchAll(fc.next, features) : features;
    });
  }

  function buildLayer(spec, features) {
    var kind = spec.kind || spec.name;
    var style = STYLES[kind];
    var opts = {
      style: typeof style === "function" ? style : function () { return style || {}; },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, pointStyle(kind, f.properties)); }
    };
    if (spec.fields.length) {
      opts.onEachFeature = function (f, layer) { layer.bindPopup(popupHtml(spec, f.properties), { maxWidth: 320 }); };
    }
    if (kind !== "routes" && kind !== "stops") {
      return L.geoJSON({ type: "FeatureCollection", features: features }, opts);
    }
    // routes and stops: one sub-layer per truck, for the truck filter
    var parent = L.layerGroup();
    var byTruck = {};
    features.forEach(function (f) {
      var v = f.properties.vehicle;
      (byTruck[v] = byTruck[v] || []).push(f);
    });
    Object.keys(byTruck).forEach(function (v) {
      var sub = L.geoJSON({ type: "FeatureCollection", features: byTruck[v] }, opts);
      (state.truckGroups[v] = state.truckGroups[v] || []).push({ parent: parent, layer: sub });
      parent.addLayer(sub);
    });
    return parent;
  }

  // the large base layers as vector tiles (SVG tiles: clicks go through Leaflet's own events)
  var TILE_STYLES = {
    streets: function (props) {
      var truck = props.access === "truck";
      return { color: truck ? "#6b6b6b" : "#c4b08a", weight: truck ? 2.5 : 1.2, opacity: 0.9 };
    },
    buildings: { color: "#9a8f85", weight: 0.5, fill: true, fillColor: "#cfc6bd", fillOpacity: 0.8 }
  };
  function tiled(spec) {
    return spec.tiles && TILE_STYLES[spec.kind || spec.name] && L.vectorGrid && L.vectorGrid.protobuf;
  }
  function tileLayer(spec) {
    var kind = spec.kind || spec.name;
    var styles = {};
    styles[kind] = TILE_STYLES[kind];
    var interactive = spec.fields.length > 0;
    var layer = L.vectorGrid.protobuf(spec.tiles, {
      rendererFactory: L.svg.tile,
      vectorTileLayerStyles: styles,
      interactive: interactive,
      pane: "base",
      maxZoom: 20,
      attribution: ""
    });
    if (interactive) {
      layer.on("click", function (e) {
        L.popup({ maxWidth: 320 }).setLatLng(e.latlng).setContent(popupHtml(spec, e.layer.properties || {})).openOn(map);
      });
    }
    layer.on("load", function () { state.tilesLoaded[spec.name] = (state.tilesLoaded[spec.name] || 0) + 1; });
    return layer;
  }

  function badge(label) {
    // the full label ("MẪU HÀ NỘI / Hanoi sample") as the tooltip, its half in the page's language
    var synthetic = label.indexOf("SYNTHETIC") === 0;
    var parts = label.split(" / ");
    var text = synthetic ? label : (lang === "vi" ? parts[0] : parts[parts.length - 1]);
    return '<span class="badge ' + (synthetic ? "synthetic" : "sample") + '" title="' + esc(label) + '">' + esc(text) + "</span>";
  }

  function addPanelEntry(list, spec, layer) {
    var li = document.createElement("li");
    var id = "layer-" + spec.name;
    li.innerHTML = '<label><input type="checkbox" id="' + id + '" data-layer="' + esc(spec.name) + '"' +
      (spec.shown ? " checked" : "") + "> " + esc(lang === "vi" ? spec.title_vi : spec.title_en) +
      ' <span class="count">(' + fmt(spec.count) + ")</span>" + spec.labels.map(badge).join("") + "</label>";
    list.appendChild(li);
    li.querySelector("input").addEventListener("change", function (e) {
      if (e.target.checked) { layer.addTo(map); } else { map.removeLayer(layer); }
    });
  }

  function setTruck(v, on) {
    state.visibleTrucks[v] = on;
    (state.truckGroups[v] || []).forEach(function (g) {
      if (on) { g.parent.addLayer(g.layer); } else { g.parent.removeLayer(g.layer); }
    });
    var box = document.getElementById("truck-" + v);
    if (box) { box.checked = on; }
  }

  function truckPanel(trucks) {
    if (!trucks.length) { return; }
    var box = document.getElementById("truck-filter");
    var list = document.getElementById("truck-list");
    trucks.forEach(function (t) {
      var li = document.createElement("li");
      li.innerHTML = '<label><input type="checkbox" checked id="truck-' + esc(t.vehicle) + '" data-truck="' + esc(t.vehicle) +
        '"><span class="swatch" style="background:' + esc(t.colour) + '"></span>' + esc(words.truck) + " " + esc(t.vehicle) +
        (t.stream_vi ? " – " + esc(lang === "vi" ? t.stream_vi : t.stream_en) : "") + "</label>";
      list.appendChild(li);
      li.querySelector("input").addEventListener("change", function (e) { setTruck(t.vehicle, e.target.checked); });
      state.visibleTrucks[t.vehicle] = true;
    });
    box.querySelectorAll("button[data-trucks]").forEach(function (b) {
      b.addEventListener("click", function () {
        var on = b.dataset.trucks === "all";
        trucks.forEach(function (t) { setTruck(t.vehicle, on); });
      });
    });
    box.hidden = false;
  }

  setStatus(words.loading);
  fetch(config.layers_url).then(function (r) {
    if (!r.ok) { throw new Error(config.layers_url + ": " + r.status); }
    return r.json();
  }).then(function (cat) {
    state.catalogue = cat;
    var b = cat.bounds;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    cat.attribution.forEach(function (a) { map.attributionControl.addAttribution(esc(a)); });
    var list = document.createElement("ul");
    return Promise.all(cat.layers.map(function (spec) {
      if (tiled(spec)) { return { spec: spec, features: null }; }
      return fetchAll(spec.url, []).then(function (features) { return { spec: spec, features: features }; });
    })).then(function (loaded) {
      loaded.forEach(function (item) {
        var layer = item.features === null ? tileLayer(item.spec) : buildLayer(item.spec, item.features);
        state.layers[item.spec.name] = layer;
        if (item.spec.shown) { layer.addTo(map); }
        addPanelEntry(list, item.spec, layer);
      });
      var holder = document.getElementById("layer-list");
      holder.innerHTML = "";
      holder.appendChild(list);
      var s = document.createElement("p");
      s.className = "status"; s.id = "map-status"; s.setAttribute("role", "status");
      s.textContent = words.loaded;
      holder.appendChild(s);
      truckPanel(cat.trucks);
      if (window.matchMedia && window.matchMedia("(max-width: 600px)").matches) {
        document.getElementById("layer-panel").open = false;
      }
      state.ready = true;
      document.body.dataset.ready = "1";
    });
  }).catch(function (err) {
    setStatus(String(err.message || err));
    document.body.dataset.ready = "error";
  });
})();
