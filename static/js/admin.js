// Dashboard behaviour: CSRF header for htmx, copy buttons, tabs, confirmations, request errors.
// Every page works without this file; it only adds conveniences. No inline handlers anywhere,
// because the Content-Security-Policy allows scripts from the portal's own files only.
(function () {
  "use strict";

  var COPIED_FOR_MS = 2000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // One polite live region for short announcements ("Copied", request errors).
  function announce(message) {
    var region = document.getElementById("js-announcer");
    if (!region) {
      region = document.createElement("div");
      region.id = "js-announcer";
      region.className = "visually-hidden";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  // (a) htmx sends the CSRF token as a header; plain forms carry the hidden csrf_token field.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // (b) Copy to clipboard: <button data-copy-target="element-id">.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http development origins have no Clipboard API; fall back to a selection.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    var isField = source instanceof HTMLInputElement || source instanceof HTMLTextAreaElement;
    var text = isField ? source.value : source.textContent.trim();
    copyText(text).then(function () {
      button.classList.add("is-copied");
      announce("Copied to clipboard");
      window.clearTimeout(button.copiedTimer);
      button.copiedTimer = window.setTimeout(function () {
        button.classList.remove("is-copied");
      }, COPIED_FOR_MS);
    }, function () {
      announce("Could not copy. Select the text and copy it by hand.");
    });
  });

  // (c) Tabs: [data-tabs] holds a list of links to panels. Without script every panel shows.
  function enhanceTabs(group) {
    if (group.classList.contains("is-enhanced")) { return; }
    var list = group.querySelector(".tabs__list");
    var tabs = Array.prototype.slice.call(group.querySelectorAll(".tabs__tab"));
    var panels = tabs.map(function (tab) {
      return document.getElementById(tab.getAttribute("href").slice(1));
    });
    if (!list || tabs.length === 0 || panels.indexOf(null) !== -1) { return; }

    list.setAttribute("role", "tablist");
    tabs.forEach(function (tab, index) {
      tab.parentElement.setAttribute("role", "presentation");
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panels[index].id);
      if (!tab.id) { tab.id = panels[index].id + "-tab"; }
      panels[index].setAttribute("role", "tabpanel");
      panels[index].setAttribute("aria-labelledby", tab.id);
      panels[index].setAttribute("tabindex", "0");
    });

    function select(index, moveFocus) {
      tabs.forEach(function (tab, i) {
        var selected = i === index;
        tab.setAttribute("aria-selected", selected ? "true" : "false");
        tab.setAttribute("tabindex", selected ? "0" : "-1");
        panels[i].hidden = !selected;
      });
      if (moveFocus) { tabs[index].focus(); }
    }

    list.addEventListener("click", function (event) {
      var index = tabs.indexOf(event.target.closest(".tabs__tab"));
      if (index === -1) { return; }
      event.preventDefault();
      select(index, false);
    });
    list.addEventListener("keydown", function (event) {
      var current = tabs.indexOf(document.activeElement);
      if (current === -1) { return; }
      var next = {
        ArrowRight: (current + 1) % tabs.length,
        ArrowLeft: (current - 1 + tabs.length) % tabs.length,
        Home: 0,
        End: tabs.length - 1
      }[event.key];
      if (next === undefined) { return; }
      event.preventDefault();
      select(next, true);
    });

    group.classList.add("is-enhanced");
    var linked = panels.map(function (panel) { return "#" + panel.id; }).indexOf(window.location.hash);
    select(linked === -1 ? 0 : linked, false);
  }

  // (d) Plain forms (no htmx) that destroy something ask first: <form data-confirm="…">.
  // htmx forms use hx-confirm instead, so they are skipped here to avoid asking twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !form.hasAttribute("hx-confirm") && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // (d) htmx does not swap 4xx/5xx answers; say so instead of failing silently.
  function showRequestError(message) {
    var flashes = document.getElementById("flashes");
    if (!flashes) { announce(message); return; }
    var flash = document.createElement("div");
    flash.className = "flash flash--error";
    flash.setAttribute("role", "alert");
    var body = document.createElement("p");
    body.className = "flash__body";
    body.textContent = message;
    flash.appendChild(body);
    flashes.replaceChildren(flash);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var messages = {
      403: "You do not have permission to do that, or the page expired. Reload the page and try again.",
      404: "That item no longer exists. Reload the page to see the current state.",
      429: "Too many requests. Wait a moment, then try again."
    };
    showRequestError(messages[status] || "The request failed (HTTP " + status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showRequestError("The portal could not be reached. Check your connection and try again.");
  });

  // Enhance the page and anything htmx swaps in later.
  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) { found.unshift(root); }
    return found;
  }

  function enhance(root) {
    // Copy buttons ship hidden: without script they could do nothing.
    within(root, "[data-copy-target][hidden]").forEach(function (button) { button.hidden = false; });
    within(root, "[data-tabs]").forEach(enhanceTabs);
  }

  if (window.htmx) {
    window.htmx.onLoad(enhance);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
