// Small enhancements on top of pages that work without JavaScript: a reading list
// ("☆ Save" on any card, the "My papers" page, BibTeX export), "My topics" (highlight and
// filter cards), sorting a listing, and copy buttons for feed addresses. Everything is kept
// in this browser's localStorage; nothing is sent anywhere.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL("..", script.src).pathname : "/";  // the site's root path
  var PAPERS = "site-builder:" + base + ":papers";
  var TOPICS = "site-builder:" + base + ":topics";

  function load(key) {
    try {
      var value = JSON.parse(window.localStorage.getItem(key) || "{}");
      return value && typeof value === "object" && !Array.isArray(value) ? value : {};
    } catch (error) {
      return {};
    }
  }

  function save(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      // storage full or switched off: the page still works, the choice is not kept
    }
  }

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  // --- reading list -----------------------------------------------------------------------

  // a card's address is its title link's (cards leave out data-url to stay small)
  function titleLink(holder) {
    var link = holder.querySelector(".card-title a[href]");
    return link ? link.href : "";
  }

  function paperOf(element) {
    var holder = element.closest("[data-paper]");
    return holder ? {
      id: holder.getAttribute("data-paper"),
      title: holder.getAttribute("data-title") || "",
      url: holder.getAttribute("data-url") || titleLink(holder),
      date: holder.getAttribute("data-date") || "",
      authors: holder.getAttribute("data-authors") || "",
      arxiv: holder.getAttribute("data-arxiv") || ""
    } : null;
  }

  function showStar(button, saved) {
    button.setAttribute("aria-pressed", saved ? "true" : "false");
    button.firstChild.textContent = saved ? "★" : "☆";
    button.lastChild.textContent = saved ? " Saved" : " Save";
  }

  function setUpStars() {
    var saved = load(PAPERS);
    all("[data-star]").forEach(function (button) {
      var paper = paperOf(button);
      if (!paper) {
        return;
      }
      button.hidden = false;
      showStar(button, Boolean(saved[paper.id]));
      button.addEventListener("click", function () {
        var current = load(PAPERS);
        if (current[paper.id]) {
          delete current[paper.id];
        } else {
          paper.saved = new Date().toISOString();
          current[paper.id] = paper;
        }
        save(PAPERS, current);
        all("[data-paper]").forEach(function (holder) {
          if (holder.getAttribute("data-paper") === paper.id) {
            all("[data-star]", holder).forEach(function (b) { showStar(b, Boolean(current[paper.id])); });
          }
        });
      });
    });
  }

  function bibtexText(text) {
    return text.replace(/[{}]/g, "").replace(/([&%#_$])/g, "\\$1");
  }

  function bibtexKey(paper, used) {
    var first = (paper.authors.split(" and ")[0] || "").trim().split(/\s+/).pop() || "paper";
    var word = (paper.title.match(/[A-Za-z0-9]+/) || ["x"])[0];
    var key = (paper.arxiv ? "arxiv" + paper.arxiv :
      first + paper.date.slice(0, 4) + word).replace(/[^A-Za-z0-9]/g, "").toLowerCase();
    var unique = key;
    for (var n = 2; used[unique]; n += 1) {
      unique = key + n;
    }
    used[unique] = true;
    return unique;
  }

  function bibtex(papers) {
    var used = {};
    return papers.map(function (paper) {
      var lines = ["@misc{" + bibtexKey(paper, used) + ",",
        "  title = {{" + bibtexText(paper.title) + "}},"];
      if (paper.authors) {
        lines.push("  author = {" + bibtexText(paper.authors) + "},");
      }
      if (paper.date) {
        lines.push("  year = {" + paper.date.slice(0, 4) + "},");
      }
      if (paper.arxiv) {
        lines.push("  eprint = {" + paper.arxiv + "},", "  archivePrefix = {arXiv},");
      }
      lines.push("  url = {" + paper.url + "}", "}");
      return lines.join("\n");
    }).join("\n\n") + "\n";
  }

  function savedPapers() {
    var saved = load(PAPERS);
    return Object.keys(saved).map(function (id) { return saved[id]; })
      .sort(function (a, b) { return (b.saved || "").localeCompare(a.saved || ""); });
  }

  function setUpReadingList() {
    var root = document.querySelector("[data-reading-list]");
    if (!root) {
      return;
    }
    root.hidden = false;
    var list = root.querySelector("[data-items]");
    var empty = root.querySelector("[data-empty]");

    function render() {
      var papers = savedPapers();
      list.textContent = "";
      papers.forEach(function (paper) {
        var item = document.createElement("li");
        item.setAttribute("data-saved", paper.id);
        var link = document.createElement("a");
        link.href = paper.url;
        link.textContent = paper.title || paper.id;
        var meta = document.createElement("span");
        meta.className = "muted";
        meta.textContent = " " + (paper.date || "") + " ";
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "remove";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", "Remove " + (paper.title || paper.id));
        remove.addEventListener("click", function () {
          var current = load(PAPERS);
          delete current[paper.id];
          save(PAPERS, current);
          render();
        });
        item.append(link, meta, remove);
        list.appendChild(item);
      });
      empty.hidden = papers.length > 0;
      root.querySelector("[data-export]").disabled = papers.length === 0;
    }

    root.querySelector("[data-export]").addEventListener("click", function () {
      var blob = new Blob([bibtex(savedPapers())], {type: "application/x-bibtex"});
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "my-papers.bib";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
    root.querySelector("[data-clear]").addEventListener("click", function () {
      if (window.confirm("Remove every saved paper from this browser?")) {
        save(PAPERS, {});
        render();
      }
    });
    var chips = root.querySelector("[data-my-topics]");
    var topics = load(TOPICS);
    Object.keys(topics).sort().forEach(function (slug) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = base + "topics/" + encodeURIComponent(slug) + "/";
      link.textContent = topics[slug];
      item.appendChild(link);
      chips.appendChild(item);
    });
    render();
  }

  // --- my topics --------------------------------------------------------------------------

  function markCards(topics) {
    var any = false;
    all(".card[data-topics]").forEach(function (card) {
      var mine = card.getAttribute("data-topics").split(" ").some(function (slug) {
        return slug && Object.prototype.hasOwnProperty.call(topics, slug);
      });
      card.classList.toggle("is-mine", mine);
      any = any || mine;
    });
    return any;
  }

  function setUpTopics() {
    var topics = load(TOPICS);
    all("[data-mine]").forEach(function (button) {
      var holder = button.closest("[data-topic]");
      var slug = holder.getAttribute("data-topic");
      button.hidden = false;
      function show() {
        var mine = Object.prototype.hasOwnProperty.call(topics, slug);
        button.setAttribute("aria-pressed", mine ? "true" : "false");
        button.textContent = mine ? "✓ My topic" : "+ My topic";
        holder.classList.toggle("is-mine", mine);
      }
      button.addEventListener("click", function () {
        topics = load(TOPICS);
        if (Object.prototype.hasOwnProperty.call(topics, slug)) {
          delete topics[slug];
        } else {
          topics[slug] = holder.getAttribute("data-topic-title") || slug;
        }
        save(TOPICS, topics);
        show();
      });
      show();
    });
    markCards(topics);
  }

  // --- sorting and filtering a listing ----------------------------------------------------

  function setUpListTools() {
    var tools = document.querySelector("[data-list-tools]");
    var list = document.querySelector("main ol.cards");
    if (!tools || !list) {
      return;
    }
    tools.hidden = false;
    var items = all(":scope > li", list);
    var original = items.slice();
    var select = tools.querySelector("[data-sort]");
    var card = function (item) { return item.querySelector(".card"); };
    var orders = {
      top: function () { return original; },
      newest: function () {
        return items.slice().sort(function (a, b) {
          return card(b).getAttribute("data-date").localeCompare(card(a).getAttribute("data-date")) ||
            original.indexOf(a) - original.indexOf(b);
        });
      },
      title: function () {
        return items.slice().sort(function (a, b) {
          return card(a).getAttribute("data-title").localeCompare(card(b).getAttribute("data-title"));
        });
      }
    };
    select.addEventListener("change", function () {
      (orders[select.value] || orders.top)().forEach(function (item) { list.appendChild(item); });
      list.classList.toggle("ranked-off", select.value !== "top");
    });
    var topics = load(TOPICS);
    var mineOnly = tools.querySelector("[data-mine-only]");
    if (Object.keys(topics).length && markCards(topics)) {
      mineOnly.closest("label").hidden = false;
      mineOnly.addEventListener("change", function () {
        items.forEach(function (item) {
          item.hidden = mineOnly.checked && !card(item).classList.contains("is-mine");
        });
      });
    }
  }

  // --- copy buttons -----------------------------------------------------------------------

  function setUpCopy() {
    all("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        var done = function () {
          button.textContent = "Copied";
          window.setTimeout(function () { button.textContent = "Copy address"; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { window.prompt("Copy:", text); });
        } else {
          window.prompt("Copy this address:", text);
        }
      });
    });
  }

  // The floating "Top" link of small screens shows once the reader has scrolled a screen.
  function setUpToTop() {
    var link = document.querySelector(".to-top");
    if (!link) {
      return;
    }
    var update = function () {
      link.classList.toggle("is-shown", window.scrollY > window.innerHeight);
    };
    window.addEventListener("scroll", update, {passive: true});
    update();
  }

  // "Go to a day" on the home page: the chosen date, or the nearest listed day before it.
  function setUpDateJump() {
    var form = document.querySelector("[data-date-jump]");
    if (!form) {
      return;
    }
    form.hidden = false;
    var days = form.getAttribute("data-days").split(" ");
    var template = form.getAttribute("data-day-url");
    var latest = form.getAttribute("data-day");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var wanted = form.querySelector("input").value;
      var chosen = days[0];
      days.forEach(function (day) {
        if (day <= wanted) {
          chosen = day;
        }
      });
      window.location.href = template.replace(latest, chosen);
    });
  }

  function start() {
    setUpToTop();
    setUpDateJump();
    setUpStars();
    setUpTopics();
    setUpReadingList();
    setUpListTools();
    setUpCopy();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
