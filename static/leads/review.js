// Keyboard shortcuts of the review queue. Every action is a plain button or link on the page;
// the keys only move a cursor and click them, so the page works the same without this file.
(function () {
  "use strict";
  var current = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr[data-lead-id]"));
  }

  function select(row) {
    if (!row) return;
    if (current) current.classList.remove("current");
    current = row;
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    row.focus({ preventScroll: false });
    rows().forEach(function (r) { if (r !== row) r.removeAttribute("aria-current"); });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var i = current ? all.indexOf(current) : -1;
    select(all[Math.max(0, Math.min(all.length - 1, i + step))] || all[0]);
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // Polling only refreshes the rows while the reviewer has nothing selected.
  window.leadhubQueueIdle = function () {
    return !document.querySelector("#queue-rows input[name=ids]:checked") && !typing(document.activeElement);
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (!current) { if (key === "a" || key === "r" || key === "e" || key === "x") move(1); else return; }
    if (!current) return;
    var button;
    if (key === "a" || key === "r") {
      button = current.querySelector('button[data-action="' + (key === "a" ? "approve" : "reject") + '"]');
      if (button) button.click();
    } else if (key === "e") {
      if (current.dataset.editUrl) window.location.href = current.dataset.editUrl;
    } else if (key === "x") {
      var box = current.querySelector("input[name=ids]");
      if (box) box.checked = !box.checked;
    } else if (key === "Enter" && event.target === current) {
      window.location.href = current.dataset.detailUrl;
    } else if (key !== "j" && key !== "k") {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "select-all") {
      rows().forEach(function (r) {
        var box = r.querySelector("input[name=ids]");
        if (box) box.checked = event.target.checked;
      });
    }
  });

  // Keep the cursor on the same lead when htmx refreshes the rows.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "queue-rows" || !current) return;
    var again = document.querySelector('#queue-rows tr[data-lead-id="' + current.dataset.leadId + '"]');
    current = null;
    if (again) { again.classList.add("current"); current = again; }
  });
})();
