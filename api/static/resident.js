/* The residents' page: my group's schedule, the ward's base map, and a report form posting to
   the Open311 intake (multipart, with a photo). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("gomrac-config").textContent);
  var words = config.words;
  var lang = config.lang;
  var map = null;
  var marker = null;
  var groupOutline = null;
  var state = { ready: false };
  window.gomracResident = state;

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // --- schedule of my group -------------------------------------------------------------------
  var select = document.getElementById("group-select");
  var scheduleEl = document.getElementById("schedule");
  function rowsHtml(rows) {
    return rows.map(function (r) {
      return '<dl class="schedule-row">' +
        "<dt>" + esc(words.col_waste) + "</dt><dd>" + esc(r.waste) + "</dd>" +
        "<dt>" + esc(words.col_days) + "</dt><dd class=\"days\">" + esc(r.days) + "</dd>" +
        "<dt>" + esc(words.col_out) + "</dt><dd class=\"out-before\">" + esc(r.out_before) + "</dd>" +
        "<dt>" + esc(words.col_truck) + "</dt><dd>" + esc(r.truck) + "</dd>" +
        "<dt>" + esc(words.col_point) + "</dt><dd>" + esc(r.point) + "</dd>" +
        (r.place ? "<dt>" + esc(words.col_place) + "</dt><dd>" + esc(r.place) + "</dd>" : "") +
        "</dl>";
    }).join("");
  }
  function showGroup(index) {
    if (!scheduleEl) { return; }
    var g = config.groups[index];
    if (!g) { scheduleEl.innerHTML = ""; return; }
    scheduleEl.innerHTML = rowsHtml(g.rows) +
      (g.ics ? '<p><a class="ics" href="' + esc(g.ics) + '" download>' + esc(words.ics) + "</a></p>" : "");
    if (map && g.bounds) {
      var b = g.bounds;
      if (groupOutline) { map.removeLayer(groupOutline); }
      groupOutline = L.rectangle([[b[1], b[0]], [b[3], b[2]]], { color: "#2e7d32", weight: 2, fill: false, interactive: false }).addTo(map);
      map.fitBounds(groupOutline.getBounds(), { maxZoom: 17 });
    }
  }
  function showPoint(name) {
    // the collections at one gathering point, whichever groups bring their waste there
    if (!scheduleEl) { return; }
    var seen = {};
    var rows = [];
    config.groups.forEach(function (g) {
      g.rows.forEach(function (r) {
        var key = [r.waste, r.days, r.out_before, r.truck].join("|");
        if (r.point === name && !seen[key]) { seen[key] = true; rows.push(r); }
      });
    });
    if (select) { select.value = ""; }
    scheduleEl.innerHTML = '<h3 class="point-name">' + esc(name) + "</h3>" + rowsHtml(rows);
  }
  if (select) {
    select.addEventListener("change", function () { showGroup(select.value === "" ? -1 : Number(select.value)); });
  }

  // --- service and size ----------------------------------------------------------------------
  var serviceEl = document.getElementById("service");
  var sizeField = document.getElementById("size-field");
  var sizeEl = document.getElementById("size");
  function currentService() {
    return config.services.filter(function (s) { return s.code === serviceEl.value; })[0];
  }
  function updateSize() {
    var s = currentService();
    sizeEl.innerHTML = "";
    if (!s || !s.size.length) { sizeField.hidden = true; sizeEl.disabled = true; return; }
    sizeField.hidden = false; sizeEl.disabled = false;
    if (!s.size_required) { sizeEl.appendChild(new Option("—", "")); }
    s.size.forEach(function (v) { sizeEl.appendChild(new Option(v.name, v.key)); });
  }
  serviceEl.addEventListener("change", updateSize);
  updateSize();

  // --- location -----------------------------------------------------------------------------
  var latEl = document.getElementById("lat");
  var lonEl = document.getElementById("long");
  var locText = document.getElementById("location-text");
  function setLocation(lat, lon) {
    latEl.value = lat.toFixed(6);
    lonEl.value = lon.toFixed(6);
    locText.textContent = latEl.value + ", " + lonEl.value;
    if (map) {
      if (marker) { marker.setLatLng([lat, lon]); } else {
        marker = L.circleMarker([lat, lon], { radius: 9, color: "#b00020", weight: 3, fillOpacity: 0.3 }).addTo(map);
      }
    }
  }
  document.getElementById("gps").addEventListener("click", function () {
    if (!navigator.geolocation) { locText.textContent = words.gps_error; return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      setLocation(pos.coords.latitude, pos.coords.longitude);
      if (map) { map.setView([pos.coords.latitude, pos.coords.longitude], 17); }
    }, function () { locText.textContent = words.gps_error; }, { enableHighAccuracy: true, timeout: 15000 });
  });

  // --- posting ------------------------------------------------------------------------------
  var form = document.getElementById("report-form");
  var result = document.getElementById("report-result");
  var sendBtn = document.getElementById("send");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!latEl.value || !lonEl.value) {
      result.className = "error"; result.textContent = words.no_location; return;
    }
    var data = new FormData(form);
    if (sizeEl.disabled || !sizeEl.value) { data.delete("attribute[size]"); }
    var photo = document.getElementById("photo");
    if (!photo.files.length) { data.delete("media"); }
    if (!data.get("description")) { data.delete("description"); }
    sendBtn.disabled = true;
    result.className = ""; result.textContent = words.sending;
    fetch(config.post_url, { method: "POST", body: data }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (answer) {
      if (answer.ok && answer.body.length && answer.body[0].service_request_id) {
        result.className = "ok";
        result.dataset.requestId = answer.body[0].service_request_id;
        var notice = answer.body[0].service_notice;
        result.textContent = words.sent + " " + answer.body[0].service_request_id + "." +
          (notice ? " " + ((config.notices || {})[notice] || notice) : "");
        // the page where the resident follows the report
        var follow = document.createElement("a");
        follow.id = "follow-link";
        follow.href = config.follow_url + encodeURIComponent(answer.body[0].service_request_id) +
          (lang === "vi" ? "" : "?lang=en");
        follow.textContent = words.follow_link;
        result.appendChild(document.createElement("br"));
        result.appendChild(follow);
      } else {
        var why = answer.body && answer.body.length && answer.body[0].description ? answer.body[0].description : "";
        result.className = "error";
        result.textContent = words.error + (why ? ": " + why : "");
      }
    }).catch(function (err) {
      result.className = "error";
      result.textContent = words.error + ": " + String(err.message || err);
    }).then(function () { sendBtn.disabled = false; });
  });

  // --- the map ------------------------------------------------------------------------------
  if (typeof L === "undefined") {
    var m = document.getElementById("map");
    if (m) { m.textContent = words.no_leaflet; }
    state.ready = true; document.body.dataset.ready = "1";
    return;
  }
  map = L.map("map", { zoomControl: true });
  map.attributionControl.setPrefix(false);
  map.createPane("base"); map.getPane("base").style.zIndex = 350;
  map.createPane("dots"); map.getPane("dots").style.zIndex = 620;
  var renderer = L.canvas({ pane: "base" });
  map.on("click", function (e) { setLocation(e.latlng.lat, e.latlng.lng); });
  if (!config.layers_url) {
    map.setView([20.8449, 106.6881], 12);
    map.attributionControl.addAttribution("© OpenStreetMap contributors");
    state.ready = true; document.body.dataset.ready = "1";
    return;
  }
  var STYLE = {
    boundary: { color: "#000", weight: 2, dashArray: "6 4", fill: false, interactive: false },
    streets: { pane: "base", renderer: renderer, color: "#777", weight: 1.5, interactive: false },
    buildings: { pane: "base", renderer: renderer, color: "#9a8f85", weight: 0.4, fillColor: "#cfc6bd", fillOpacity: 0.8, interactive: false },
    groups: { color: "#2e7d32", weight: 1, dashArray: "3 3", fillOpacity: 0.04, className: "gomrac-group" },
    points: null
  };
  fetch(config.layers_url).then(function (r) { return r.json(); }).then(function (cat) {
    var b = cat.bounds;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    cat.attribution.forEach(function (a) { map.attributionControl.addAttribution(esc(a)); });
    var wanted = cat.layers.filter(function (l) { return Object.prototype.hasOwnProperty.call(STYLE, l.name); });
    return Promise.all(wanted.map(function (spec) {
      return fetch(spec.url + "?page_size=5000").then(function (r) { return r.json(); }).then(function (fc) {
        var layer = L.geoJSON(fc, {
          style: function () { return STYLE[spec.name] || {}; },
          onEachFeature: function (f, layer) {
            if (spec.name !== "groups") { return; }
            layer.bindTooltip(esc(f.properties.name));
            layer.on("click", function () {
              // tapping where I live picks my group (and the report's location, via the map)
              var index = config.groups.map(function (g) { return g.name; }).indexOf(f.properties.name);
              if (select && index >= 0) { select.value = String(index); showGroup(index); }
            });
          },
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, { pane: "dots", radius: 7, color: "#fff", weight: 1.5, fillColor: "#2ca02c", fillOpacity: 1, className: "gomrac-point" })
              .bindTooltip(esc(f.properties.name))
              .on("click", function (e) { L.DomEvent.stopPropagation(e); showPoint(f.properties.name); });
          }
        });
        layer.addTo(map);
      });
    }));
  }).then(function () {
    state.ready = true; document.body.dataset.ready = "1";
  }).catch(function () {
    state.ready = true; document.body.dataset.ready = "error";
  });
})();
