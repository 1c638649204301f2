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
  document.addEventListener("DOMContentLoaded", function () {
    showTarget();
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
