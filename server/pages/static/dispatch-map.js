"use strict";
/* The dispatch page's map (Leaflet, vendored under static/vendor/leaflet): the site,
   the ranked candidates, the soonest late arrivals, the filtered-out technicians
   and the stock options, each labelled. Tiles only when MAP_TILE_URL is set;
   without them the points, labels and scale are drawn over a plain background,
   so the map works offline. Vector markers only: no marker images to fetch. */
const DispatchMap = (() => {
  const box = document.getElementById("map");
  if (!box || typeof L === "undefined") return { draw() {} };
  const tiles = box.dataset.tileUrl;
  const map = L.map(box, { attributionControl: !!tiles, zoomSnap: 0.25, zoomControl: false });
  L.control.zoom({ zoomInTitle: FS.t("dispatch.map.zoom_in"), zoomOutTitle: FS.t("dispatch.map.zoom_out") }).addTo(map);
  if (tiles) L.tileLayer(tiles, { attribution: box.dataset.tileAttribution || "", maxZoom: 18 }).addTo(map);
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  const layer = L.layerGroup().addTo(map);
  const STYLE = {
    site: { radius: 9, color: "#c0262d", fillColor: "#c0262d", fillOpacity: 0.9 },
    candidate: { radius: 7, color: "#1f5fbf", fillColor: "#1f5fbf", fillOpacity: 0.8 },
    late: { radius: 7, color: "#9a5b00", fillColor: "#f0b429", fillOpacity: 0.8 },
    excluded: { radius: 5, color: "#667085", fillColor: "#c5cad3", fillOpacity: 0.8 },
    stock: { radius: 6, color: "#176c3a", fillColor: "#4caf50", fillOpacity: 0.8 },
  };

  function point(kind, lat, lon, label) {
    if (lat === null || lat === undefined || lon === null || lon === undefined) return null;
    const marker = L.circleMarker([lat, lon], { ...STYLE[kind], className: "map-" + kind });
    // A node, never a string: Leaflet would read a string as HTML, and names are people's input.
    marker.bindTooltip(FS.el("span", {}, label), { permanent: true, direction: "right", className: "map-label map-label-" + kind,
                                offset: [8, 0] });
    marker.addTo(layer);
    return marker;
  }

  /* Redraw everything the page knows: the candidates report and the stock options. */
  function draw(report, stock) {
    layer.clearLayers();
    if (!report && !stock) return;
    const points = [];
    const add = (m) => { if (m) points.push(m.getLatLng()); };
    if (report) {
      add(point("site", report.latitude, report.longitude, FS.t("dispatch.map.site")));
      for (const c of report.candidates) add(point("candidate", c.position.latitude, c.position.longitude,
        c.rank + ". " + c.name));
      const shown = new Set(report.candidates.map((c) => c.technician_id));
      for (const c of report.late_candidates || []) {
        if (!shown.has(c.technician_id)) add(point("late", c.position.latitude, c.position.longitude, c.name));
      }
      for (const x of report.excluded) add(point("excluded", x.position.latitude, x.position.longitude, x.name));
    }
    const seen = new Set();
    for (const item of (stock ? stock.items : [])) {
      for (const o of item.options) {
        if (seen.has(o.location_id)) continue;
        seen.add(o.location_id);
        add(point("stock", o.latitude, o.longitude, o.code));
      }
    }
    if (points.length === 1) map.setView(points[0], 12);
    else if (points.length) map.fitBounds(L.latLngBounds(points), { padding: [40, 40], maxZoom: 14 });
    box.dataset.points = String(points.length);
  }

  return { draw };
})();
