// Small enhancements on top of pages that work without JavaScript: a reading list
// ("☆ Save" on any card, the "My papers" page, BibTeX export), "My topics" (highlight and
// filter cards), sorting a listing, and copy buttons for feed addresses. Everything is kept
// in this browser's localStorage; nothing is sent anywhere (a card saved with "et al." reads
// its paper's page on this site once, for the whole author list).
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

  // Cards carry only what their text does not say (pages list a paper many times): the
  // title, address, authors and topics are read from the card itself. A paper page says
  // them once, in its JSON-LD.
  function titleLink(holder) {
    return holder.querySelector(".card-title a[href]");
  }

  function pageArticle(doc) {
    var script = (doc || document).querySelector('script[type="application/ld+json"]');
    try {
      return script ? JSON.parse(script.textContent) : {};
    } catch (error) {
      return {};
    }
  }

  // "A, B, C et al." -> "A and B and C and others", as BibTeX writes it
  function cardAuthors(holder) {
    var line = holder.querySelector(".authors");
    var text = line ? line.textContent.trim() : "";
    var more = / et al\.$/.test(text);
    var names = text.replace(/ et al\.$/, "").split(", ").filter(function (name) {
      return name && !/^\d+ authors?$/.test(name);
    });
    return names.concat(more ? ["others"] : []).join(" and ");
  }

  function cardTitle(holder) {
    var link = titleLink(holder);
    return holder.getAttribute("data-title") || (link ? link.textContent.trim() : "");
  }

  function paperOf(element) {
    var holder = element.closest("[data-paper]");
    if (!holder) {
      return null;
    }
    var paper = {id: holder.getAttribute("data-paper"), arxiv: holder.getAttribute("data-arxiv") || ""};
    if (holder.classList.contains("card")) {
      var link = titleLink(holder);
      paper.title = cardTitle(holder);
      paper.url = link ? link.href : "";
      paper.date = holder.getAttribute("data-date") || "";
      paper.authors = holder.hasAttribute("data-authors") ? holder.getAttribute("data-authors") :
        cardAuthors(holder);
    } else {
      var article = pageArticle();
      paper.title = article.headline || "";
      paper.url = article.url || window.location.href;
      paper.date = article.datePublished || "";
      paper.authors = articleAuthors(article);
    }
    return paper;
  }

  function articleAuthors(article) {
    return (article.author || []).map(function (person) { return person.name; }).join(" and ");
  }

  // A card names three authors: a paper saved from one gets the whole list from its page.
  function completeAuthors(paper) {
    if (!/ and others$/.test(paper.authors) || !paper.url || !window.fetch) {
      return;
    }
    window.fetch(paper.url).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      var authors = articleAuthors(pageArticle(new DOMParser().parseFromString(html, "text/html")));
      var current = load(PAPERS);
      if (authors && current[paper.id]) {
        current[paper.id].authors = authors;
        save(PAPERS, current);
      }
    }).catch(function () {});
  }

  // the Save button of every card (the paper page has its own in its markup)
  function addCardStars() {
    all(".card[data-paper] .card-actions").forEach(function (actions) {
      if (actions.querySelector("[data-star]")) {
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "star";
      button.setAttribute("data-star", "");
      button.hidden = true;
      button.setAttribute("aria-pressed", "false");
      var icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = "☆";
      button.append(icon, document.createTextNode(" Save"));
      actions.appendChild(button);
    });
  }

  function showStar(button, saved) {
    button.setAttribute("aria-pressed", saved ? "true" : "false");
    button.firstChild.textContent = saved ? "★" : "☆";
    button.lastChild.textContent = saved ? " Saved" : " Save";
  }

  function setUpStars() {
    addCardStars();
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
          completeAuthors(paper);
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

  // a card's topic slugs, from its chips' addresses (…/topics/<slug>/)
  function cardTopics(card) {
    return all(".chips a[href]", card).map(function (link) {
      var parts = new URL(link.href).pathname.split("/");
      return decodeURIComponent(parts[parts.length - 2] || "");
    }).filter(Boolean);
  }

  function markCards(topics) {
    var any = false;
    all(".card[data-paper]").forEach(function (card) {
      var mine = cardTopics(card).some(function (slug) {
        return Object.prototype.hasOwnProperty.call(topics, slug);
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
          return cardTitle(card(a)).localeCompare(cardTitle(card(b)));
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
