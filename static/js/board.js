// The operations board refreshes itself every 30 s without a reload. The map draws each
// active job (and each checked-in technician) with Leaflet; with no tile server set or
// reachable, the markers stand on a plain background labelled with their cities.
(function () {
  "use strict";
  var root = document.querySelector(".board");
  if (!root) { return; }
  var url = root.getAttribute("data-board-url");
  var tileUrl = root.getAttribute("data-tile-url");
  var map = null, layer = null;

  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function drawMap(data) {
    if (!window.L) { return; }
    if (!map) {
      map = L.map("board-map", { attributionControl: !!tileUrl, zoomControl: true });
      if (tileUrl) { L.tileLayer(tileUrl, { maxZoom: 18 }).addTo(map); }
      layer = L.layerGroup().addTo(map);
    }
    layer.clearLayers();
    var bounds = [];
    data.rows.forEach(function (row) {
      var flagged = row.flags.length > 0;
      var marker = L.circleMarker([row.site.lat, row.site.lon], {
        radius: 8, color: flagged ? "#b91c1c" : "#1d4ed8", fillOpacity: 0.8,
        className: "job-marker" + (flagged ? " flagged" : "")
      }).bindTooltip(row.title + " · " + row.site.city, { permanent: !tileUrl, direction: "top" });
      layer.addLayer(marker);
      bounds.push([row.site.lat, row.site.lon]);
      if (row.tech_position) {
        layer.addLayer(L.circleMarker([row.tech_position.lat, row.tech_position.lon], {
          radius: 5, color: "#15803d", fillOpacity: 1, className: "tech-marker"
        }).bindTooltip(row.technician || "Technician"));
      }
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 13 }); }
    else { map.setView([39.5, -98.35], 4); }
    document.getElementById("board-map").setAttribute("data-markers", String(bounds.length));
  }

  function drawRows(data) {
    var body = document.getElementById("board-rows");
    if (!body) { return; }
    body.innerHTML = data.rows.map(function (row) {
      var flags = row.flag_labels.map(function (label, i) {
        return ' <span class="badge badge-' + esc(row.flags[i]) + '">' + esc(label) + "</span>";
      }).join("");
      var href = row.status === "published" ? "/assignments/" + row.id + "/engagement" : "/work/" + row.id;
      return '<tr class="' + (row.flags.length ? "flagged" : "") + '" data-id="' + row.id + '">' +
        '<td><a href="' + href + '">' + esc(row.title) + '</a><div class="meta">' + esc(row.site.city) + "</div></td>" +
        "<td>" + esc(new Date(row.starts_at).toLocaleString()) + "</td>" +
        "<td>" + (row.technician_url ? '<a href="' + esc(row.technician_url) + '">' + esc(row.technician) + "</a>" : esc(row.technician || "—")) + "</td>" +
        "<td>" + esc(row.status.replace("_", " ")) + flags + "</td></tr>";
    }).join("") || '<tr><td colspan="4" class="muted">Nothing today or this week.</td></tr>';
    document.getElementById("attention-count").textContent = String(data.attention);
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        drawRows(data); drawMap(data);
        document.getElementById("board-updated").textContent = "Updated " + new Date().toLocaleTimeString();
      }).catch(function () {
        document.getElementById("board-updated").textContent = "Could not refresh; retrying";
      });
  }

  var initial = document.getElementById("board-data");
  if (initial) { drawMap(JSON.parse(initial.textContent)); }
  window.setInterval(refresh, 30000);
})();
