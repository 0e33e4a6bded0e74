// smsflow web UI: the little script every page loads. No inline script
// anywhere (the Content-Security-Policy forbids it): behaviour is attached
// here by class or data- attribute.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  // htmx requests carry the session's CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (e) {
    if (token) e.detail.headers["X-CSRF-Token"] = token;
  });

  // fetch() from our own scripts: smsflow.fetch(url, opts) adds it too.
  window.smsflow = {
    csrf: token,
    fetch: function (url, opts) {
      opts = opts || {};
      opts.headers = Object.assign({}, opts.headers || {}, { "X-CSRF-Token": token });
      opts.credentials = "same-origin";
      return fetch(url, opts);
    }
  };

  // A flow's graph wider than the screen (a phone) scrolls sideways; it
  // opens on its trigger, which the layout centres, not on an empty left
  // edge.
  function centreGraphs() {
    document.querySelectorAll(".graph-wrap").forEach(function (wrap) {
      var trigger = wrap.querySelector("a.node");
      if (!trigger || wrap.scrollWidth <= wrap.clientWidth) return;
      var box = trigger.getBoundingClientRect(), outer = wrap.getBoundingClientRect();
      wrap.scrollLeft += box.left + box.width / 2 - (outer.left + outer.width / 2);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", centreGraphs);
  } else {
    centreGraphs();
  }
  window.addEventListener("resize", centreGraphs);

  // <button data-confirm="Pause this flow?"> asks first.
  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
    }
  });
})();
