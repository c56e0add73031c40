(function () {
  "use strict";
  var units = {
    ns: 1e-9, "\u00b5s": 1e-6, us: 1e-6, ms: 1e-3, s: 1, min: 60, m: 60, h: 3600,
    B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1048576, GiB: 1073741824, "%": 0.01
  };
  // A cell's sort key: its leading number scaled by its unit (2.5ms < 1.2s), or null.
  function key(text) {
    var m = /^\s*([+\-\u2212]?\d+(?:\.\d+)?)\s*([A-Za-z\u00b5%]*)/.exec(text);
    if (!m) { return null; }
    var value = parseFloat(m[1].replace("\u2212", "-"));
    var scale = units[m[2]];
    return scale === undefined ? value : value * scale;
  }
  function sortBy(table, column, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(header.parentNode.cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = a.cells[column] ? a.cells[column].textContent : "";
      var y = b.cells[column] ? b.cells[column].textContent : "";
      var kx = key(x), ky = key(y);
      var d = kx !== null && ky !== null ? kx - ky : x.localeCompare(y);
      return ascending ? d : -d;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  var sortable = 0;
  Array.prototype.forEach.call(document.querySelectorAll("table"), function (table) {
    if (!table.tHead || !table.tBodies.length || !table.tHead.rows.length) { return; }
    sortable += 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.title = "Sort by this column";
      header.tabIndex = 0;
      header.addEventListener("click", function () { sortBy(table, column, header); });
      header.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, column, header); }
      });
    });
  });
  document.documentElement.setAttribute("data-sortable-tables", String(sortable));
})();
