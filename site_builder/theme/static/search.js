// The search page: loads Pagefind's UI from the site's pagefind/ folder (written by the
// build) and runs the query of ?q= (the header search box of every page sends it here).
(function () {
  "use strict";
  var root = document.getElementById("search");
  if (!root) {
    return;
  }
  var bundle = new URL(root.getAttribute("data-bundle"), document.baseURI).pathname;
  var base = new URL(root.getAttribute("data-base"), document.baseURI).pathname;
  var query = new URLSearchParams(window.location.search).get("q") || "";
  var header = document.getElementById("site-search");
  if (header && query) {
    header.value = query;
  }

  function unavailable() {
    var status = document.getElementById("search-status");
    status.textContent = "Search is not available on this copy of the site (its search " +
      "index was not built). Browse the archive or the topics instead.";
    status.hidden = false;
  }

  function start() {
    var style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = bundle + "pagefind-ui.css";
    document.head.appendChild(style);
    var ui = new window.PagefindUI({
      element: "#search",
      bundlePath: bundle,
      baseUrl: base,
      showSubResults: false,
      showImages: false,
      autofocus: !query
    });
    var input = root.querySelector("input");
    if (input && !input.hasAttribute("aria-label")) {
      input.setAttribute("aria-label", "Search papers");  // Pagefind gives it only a title
    }
    if (query) {
      ui.triggerSearch(query);
    }
  }

  var script = document.createElement("script");
  script.src = bundle + "pagefind-ui.js";
  script.onload = start;
  script.onerror = unavailable;
  document.head.appendChild(script);
})();
