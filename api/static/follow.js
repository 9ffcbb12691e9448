/* A report's follow page: its place on a small map, with the ward's streets around it when the
   server holds the ward's plan. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("gomrac-config").textContent);
  function done(state) { document.body.dataset.ready = state; }
  if (typeof L === "undefined") {
    var m = document.getElementById("map");
    if (m) { m.textContent = config.words.no_leaflet; }
    done("1");
    return;
  }
  var here = [config.lat, config.lon];
  var map = L.map("map", { zoomControl: true }).setView(here, 17);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(config.attribution);
  map.createPane("base"); map.getPane("base").style.zIndex = 350;
  var marker = L.circleMarker(here, { radius: 10, color: "#b00020", weight: 3, fillOpacity: 0.35, className: "gomrac-report-place" })
    .bindTooltip(config.label).addTo(map);
  if (!config.streets_url) { done("1"); return; }
  fetch(config.streets_url).then(function (r) {
    if (!r.ok) { throw new Error(String(r.status)); }
    return r.json();
  }).then(function (fc) {
    L.geoJSON(fc, { pane: "base", interactive: false, style: function (f) {
      var truck = f.properties.access === "truck";
      return { color: truck ? "#6b6b6b" : "#c4b08a", weight: truck ? 2.5 : 1.2 };
    } }).addTo(map);
    marker.bringToFront();
    done("1");
  }).catch(function () { done("error"); });
})();
