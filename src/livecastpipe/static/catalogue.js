/* livecastpipe catalogue: full-text search over every session's transcript with the static Pagefind
   index in ./pagefind/ (no network beyond this site). Results link to the moment in the session. */
(function () {
  "use strict";

  var section = document.getElementById("zoeken");
  var form = document.getElementById("zoekformulier");
  var input = document.getElementById("zoekterm");
  var status = document.getElementById("zoekstatus");
  var list = document.getElementById("zoekresultaten");
  if (!section || !form) { return; }
  section.hidden = false;

  var pagefind = null;
  function loadPagefind() {
    if (!pagefind) {
      var here = new URL(".", document.baseURI);
      pagefind = import(new URL("pagefind/pagefind.js", here).href).then(function (module) {
        return Promise.resolve(module.options({ baseUrl: here.pathname })).then(function () { return module; });
      });
    }
    return pagefind;
  }

  /* Pagefind excerpts are HTML with <mark>; keep only their text and the marks, never markup. */
  function appendExcerpt(parent, html) {
    var doc = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html");
    doc.body.firstChild.childNodes.forEach(function (node) {
      if (node.nodeType === Node.ELEMENT_NODE && node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        parent.appendChild(mark);
      } else {
        parent.appendChild(document.createTextNode(node.textContent));
      }
    });
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function render(results, query) {
    list.textContent = "";
    results.forEach(function (result) {
      var item = document.createElement("li");
      var heading = document.createElement("h3");
      heading.appendChild(link(result.url, (result.meta && result.meta.title) || result.url));
      item.appendChild(heading);
      var moments = (result.sub_results || []).filter(function (sub) { return sub.url.indexOf("#t=") !== -1; });
      if (moments.length) {
        var sublist = document.createElement("ul");
        moments.slice(0, 5).forEach(function (sub) {
          var li = document.createElement("li");
          li.appendChild(link(sub.url, sub.title));
          var text = document.createElement("p");
          appendExcerpt(text, sub.excerpt);
          li.appendChild(text);
          sublist.appendChild(li);
        });
        item.appendChild(sublist);
      } else {
        var excerpt = document.createElement("p");
        appendExcerpt(excerpt, result.excerpt);
        item.appendChild(excerpt);
      }
      list.appendChild(item);
    });
    status.textContent = results.length
      ? results.length + (results.length === 1 ? " sessie gevonden" : " sessies gevonden") + " voor ‘" + query + "’"
      : "Niets gevonden voor ‘" + query + "’";
  }

  var latest = 0;
  function search() {
    var query = input.value.trim();
    var ticket = ++latest;
    if (!query) { list.textContent = ""; status.textContent = ""; return; }
    status.textContent = "Bezig met zoeken…";
    loadPagefind()
      .then(function (pf) { return pf.search(query); })
      .then(function (found) {
        return Promise.all(found.results.slice(0, 10).map(function (r) { return r.data(); }));
      })
      .then(function (results) { if (ticket === latest) { render(results, query); } })
      .catch(function () {
        if (ticket === latest) { status.textContent = "Zoeken is hier niet beschikbaar (open de site via een webserver)."; }
      });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); search(); });
  var timer = null;
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 300);
  });
})();
