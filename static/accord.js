// A table's scrolling box (macros/tables.html) is a tab stop only while its table is wider than
// the box: a keyboard user can then scroll to the columns out of sight, and Tab does not stop on
// every table that fits. Without this script every box stays a tab stop, which is safe.
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".table-scroll");
  if (!boxes.length || !("ResizeObserver" in window)) return;
  function mark(box) {
    if (box.scrollWidth > box.clientWidth) box.setAttribute("tabindex", "0");
    else if (box !== document.activeElement) box.removeAttribute("tabindex");
  }
  var watcher = new ResizeObserver(function (entries) {
    entries.forEach(function (entry) { mark(entry.target); });
  });
  boxes.forEach(function (box) {
    watcher.observe(box);
    box.addEventListener("blur", function () { mark(box); });  // (kept while it had the focus)
    var table = box.querySelector("table");
    if (table) watcher.observe(table);
  });
})();
