// "Pick a technician" fields: as a name is typed, the field's datalist fills with the
// matching technicians from its data-suggest URL ("Dana Reyes · Dallas, TX · #12").
// Progressive enhancement only: the text typed is never cleared or replaced, and the
// server resolves a typed name itself (or says why it cannot).
(function () {
  "use strict";
  var timers = {};

  function fill(input, list, query) {
    var url = input.getAttribute("data-suggest");
    url += (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(query);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        if (input.value.trim() !== query) { return; }   // typed on since: a newer request fills it
        while (list.firstChild) { list.removeChild(list.firstChild); }
        items.forEach(function (item) {
          var option = document.createElement("option");
          option.value = item.label;
          list.appendChild(option);
        });
        input.setAttribute("data-suggested", String(items.length));
      })
      .catch(function () { /* suggestions are a help; the form still works without them */ });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-suggest]")) { return; }
    var list = document.getElementById(input.getAttribute("list"));
    var query = input.value.trim();
    if (!list || query.length < 2 || /#\s*\d+$/.test(query)) { return; }   // picked already
    var key = input.id || input.name;
    window.clearTimeout(timers[key]);
    timers[key] = window.setTimeout(function () { fill(input, list, query); }, 150);
  });
})();
