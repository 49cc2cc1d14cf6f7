// The Approvals page, live: fetch its changing part again every second and merge it in place.
// Rows are matched by data-key and replaced only when their data-sig changed, so a row being
// read, typed into or clicked stays put; clock texts ([data-tick]) update inside kept rows.
// This is the console's only script: no inline script anywhere (its CSP is default-src 'self').
(function () {
  "use strict";
  var INTERVAL_MS = 1000;
  var live = document.getElementById("live");
  if (!live) {
    return;
  }
  var url = live.getAttribute("data-poll");
  var status = document.getElementById("live-status");
  var timer = null;

  function ticks(kept, fresh) {
    var have = kept.querySelectorAll("[data-tick]");
    var next = fresh.querySelectorAll("[data-tick]");
    for (var i = 0; i < have.length && i < next.length; i++) {
      if (have[i].textContent !== next[i].textContent) {
        have[i].textContent = next[i].textContent;
      }
    }
  }

  function mergeRows(current, fresh) {
    var old = new Map();
    Array.prototype.forEach.call(current.children, function (el) {
      old.set(el.getAttribute("data-key"), el);
    });
    Array.prototype.slice.call(fresh.children).forEach(function (el, index) {
      var key = el.getAttribute("data-key");
      var have = old.get(key);
      var node;
      if (have && have.getAttribute("data-sig") === el.getAttribute("data-sig")) {
        ticks(have, el);
        node = have;
      } else {
        node = document.importNode(el, true);
        if (have) {
          have.remove();
        }
      }
      old.delete(key);
      var at = current.children[index];
      if (at !== node) {
        current.insertBefore(node, at || null);
      }
    });
    old.forEach(function (el) {
      el.remove();
    });
  }

  function merge(html) {
    var template = document.createElement("template");
    template.innerHTML = html; // inert: the server escaped everything; nothing in it runs
    var fresh = template.content;
    live.querySelectorAll("[data-rows]").forEach(function (current) {
      var next = fresh.getElementById(current.id);
      if (next) {
        mergeRows(current, next);
      }
    });
    live.querySelectorAll("[data-text]").forEach(function (current) {
      var next = fresh.getElementById(current.id);
      if (next && next.textContent !== current.textContent) {
        current.textContent = next.textContent;
      }
    });
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function poll() {
    if (document.hidden) {
      return; // visibilitychange starts again
    }
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload(); // the sign-in ended: the page itself goes to the sign-in form
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) {
          merge(html);
          status.hidden = true;
        }
      })
      .catch(function () {
        status.hidden = false;
      })
      .then(function () {
        schedule(INTERVAL_MS);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      schedule(0);
    }
  });
  schedule(INTERVAL_MS);
})();
