// Travel request pages: add up the cost lines as they are typed, and offer more contact rows.
// Progressive enhancement only: without this file the forms work, and the server's total is the truth.
(function () {
  "use strict";

  // Money is added in whole cents (integers), never as floating-point dollars.
  function cents(text) {
    // The same leniency as the server: an optional "$", thousands separators, a point with no
    // digits on one side (".5", "5."), and zeros past the cents ("1.500").
    var value = text.trim().replace(/^\$\s*/, "");
    if (value === "") return 0;
    var match = /^(\d{1,3}(?:,\d{3})+|\d{0,10})(?:\.(\d*))?$/.exec(value);
    var fraction = match ? match[2] || "" : "";
    if (!match || (match[1] === "" && fraction === "") || /[^0]/.test(fraction.slice(2))) return null;
    var dollars = parseInt(match[1].replace(/,/g, "") || "0", 10);
    return dollars * 100 + parseInt((fraction + "00").slice(0, 2), 10);
  }

  function money(total) {
    var whole = Math.floor(total / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return whole + "." + ("0" + (total % 100)).slice(-2);
  }

  function watchCosts() {
    var output = document.getElementById("cost-total");
    if (!output) return;
    var inputs = document.querySelectorAll(".cost-lines input");
    function update() {
      var total = 0;
      for (var i = 0; i < inputs.length; i++) {
        var c = cents(inputs[i].value);
        if (c === null) { output.textContent = "—"; return; }
        total += c;
      }
      if (output.textContent !== money(total)) output.textContent = money(total);
    }
    // The total is a live region: updated at each keystroke, a screen reader read out "1.00, 12.00,
    // 125.00..." over the typing. It is updated once typing pauses, and when a field is left.
    var pause = null;
    function soon() {
      clearTimeout(pause);
      pause = setTimeout(update, 400);
    }
    function now() {
      clearTimeout(pause);  // else the pending update would announce the same total again
      update();
    }
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].addEventListener("input", soon);
      inputs[i].addEventListener("change", now);
    }
    update();
  }

  function renumber(row, index) {
    var nodes = row.querySelectorAll("[id], [name], [for]");
    for (var i = 0; i < nodes.length; i++) {
      ["id", "name", "for"].forEach(function (attr) {
        var v = nodes[i].getAttribute(attr);
        if (v) nodes[i].setAttribute(attr, v.replace(/-contacts-\d+-/, "-contacts-" + index + "-"));
      });
    }
    row.querySelector("legend").textContent = "Contact " + (index + 1);
  }

  // The page's own "Add another contact" button sends the form back to be shown with one more
  // row (it works without script); with script, the row is added here, and nothing is sent.
  function repeatContacts() {
    var box = document.querySelector(".contact-rows");
    var button = box && box.querySelector('button[name$="-contacts-more"]');
    if (!button) return;
    // Enter in a field files the report, as it did before the form had a second button: the
    // browser takes the first one in the form, which is this one.
    var form = button.form;
    form.addEventListener("keydown", function (event) {
      var target = event.target;
      // (Not the Enter that picks a character in an input method: it files nothing by itself.)
      if (event.key !== "Enter" || event.isComposing || event.keyCode === 229) return;
      if (target.tagName !== "INPUT" || target.type === "submit") return;
      var main = form.querySelector('button[type="submit"]:not([name$="-contacts-more"])');
      if (!main) return;
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(main); else main.click();
    });
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var rows = box.querySelectorAll(".contact-row");
      var row = rows[rows.length - 1].cloneNode(true);
      renumber(row, rows.length);
      var errors = row.querySelectorAll(".error-text");
      for (var i = 0; i < errors.length; i++) errors[i].remove();
      var inputs = row.querySelectorAll("input");
      for (var j = 0; j < inputs.length; j++) {
        inputs[j].value = "";
        inputs[j].removeAttribute("aria-invalid");
        inputs[j].removeAttribute("aria-describedby");
        inputs[j].removeAttribute("autofocus");
      }
      box.insertBefore(row, button);
      if (rows.length + 1 >= 50) button.hidden = true;
      inputs[0].focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    watchCosts();
    repeatContacts();
  });
})();
