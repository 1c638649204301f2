// Onewatch dashboard: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // The server shows times in the viewer's zone; tell it which one the browser uses.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("onewatch_tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "onewatch_tz=" + encodeURIComponent(zone) + "; path=/ui; SameSite=Strict";
    }
  } catch (e) { /* no Intl: times stay in UTC */ }

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Show only the inputs of the chosen target (action, webhook or GraphQL).
  function showTarget() {
    var chosen = document.querySelector("input[name=target]:checked");
    document.querySelectorAll(".target-group").forEach(function (group) {
      group.hidden = !!chosen && group.id !== "target-" + chosen.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "target") { showTarget(); }
  });
  // Live lists (``data-live``) refresh themselves with htmx; a refresh is held back while
  // the viewer is choosing rows or typing in the list, or the tab is hidden, so it
  // never resets what they are doing. Forms outside the list are never swapped.
  function busy(region) {
    var active = document.activeElement;
    var typing = active && region.contains(active) && active.matches("input, select, textarea");
    return document.hidden || typing || !!region.querySelector("input[type=checkbox]:checked");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var region = event.detail.elt;
    if (!region.hasAttribute("data-live")) { return; }
    if (busy(region)) {
      event.preventDefault();
      region.setAttribute("data-live-held", "true");
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var region = event.detail.elt;
    if (region && region.hasAttribute && region.hasAttribute("data-live")) {
      var count = parseInt(document.body.getAttribute("data-live-refreshes") || "0", 10);
      document.body.setAttribute("data-live-refreshes", String(count + 1));
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    showTarget();
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
