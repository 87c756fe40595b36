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

// A form sent again while its first sending is under way (a second click while a busy server
// answers) is not sent twice: the second made a second request, or a second step. The mark lasts
// ten seconds, so that a sending the network lost can be tried again, and goes when the page is
// shown again from the browser's history. Without this script the server's own checks stand.
(function () {
  "use strict";
  var LASTS = 10000;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") return;
    var sent = Number(form.getAttribute("data-sent-at") || 0);
    if (sent && Date.now() - sent < LASTS) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent-at", String(Date.now()));
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sent-at]").forEach(function (form) {
      form.removeAttribute("data-sent-at");
    });
  });
})();
