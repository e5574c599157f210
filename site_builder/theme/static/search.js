// The search page: loads Pagefind's UI from the site's pagefind/ folder (written by the
// build) and runs the query of ?q= (the header search box of every page sends it here).
// The index is one Pagefind index per listing month (pagefind/<YYYY-MM>/, listed newest
// first in pagefind/indexes.json): the newest is the primary index, the others are merged.
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

  var siteTitle = root.getAttribute("data-site-title") || document.title;

  function showQuery(text) {
    var q = text.trim();
    document.title = (q ? "\u201c" + q + "\u201d \u00b7 " : "") + "Search \u00b7 " + siteTitle;
    var url = new URL(window.location.href);
    if (q) {
      url.searchParams.set("q", q);
    } else {
      url.searchParams.delete("q");
    }
    window.history.replaceState(null, "", url);
  }

  function unavailable() {
    var status = document.getElementById("search-status");
    status.textContent = "Search is not available on this copy of the site (its search " +
      "index was not built). Browse the archive or the topics instead.";
    status.hidden = false;
  }

  function start(months) {
    if (!months.length) {
      unavailable();
      return;
    }
    var style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = bundle + "pagefind-ui.css";
    document.head.appendChild(style);
    var ui = new window.PagefindUI({
      element: "#search",
      bundlePath: bundle + months[0] + "/",
      baseUrl: base,
      mergeIndex: months.slice(1).map(function (month) {
        return { bundlePath: bundle + month + "/", baseUrl: base };
      }),
      showSubResults: false,
      showImages: false,
      excerptLength: 24,
      autofocus: !query
    });
    var input = root.querySelector("input");
    if (input && !input.hasAttribute("aria-label")) {
      input.setAttribute("aria-label", "Search papers");  // Pagefind gives it only a title
    }
    if (input) {
      // The query is in the tab's title and the address, so a search can be bookmarked.
      input.addEventListener("input", function () { showQuery(input.value); });
    }
    if (query) {
      ui.triggerSearch(query);
      showQuery(query);
    }
  }

  function loadUi(months) {
    var script = document.createElement("script");
    script.src = bundle + "pagefind-ui.js";
    script.onload = function () { start(months); };
    script.onerror = unavailable;
    document.head.appendChild(script);
  }

  fetch(bundle + "indexes.json")
    .then(function (response) {
      if (!response.ok) {
        throw new Error("no search index");
      }
      return response.json();
    })
    .then(function (listing) { loadUi(listing.months || []); })
    .catch(unavailable);
})();
