// smsflow web UI: the inbox's live console. The page lists the console
// provider's recent texts in #console; this script follows its
// server-sent events (data-events) and adds each text as it is sent.
// Text is set with textContent, never parsed as markup.
(function () {
  "use strict";
  var list = document.getElementById("console");
  if (!list || !window.EventSource) return;
  var url = list.getAttribute("data-events");
  if (!url) return;
  var seen = {};
  Array.prototype.forEach.call(list.querySelectorAll("li[data-id]"), function (li) {
    seen[li.getAttribute("data-id")] = true;
  });
  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }
  var source = new EventSource(url);
  source.addEventListener("sms", function (e) {
    var m;
    try { m = JSON.parse(e.data); } catch (err) { return; }
    var id = String(m.id);
    if (seen[id]) return;
    seen[id] = true;
    var li = document.createElement("li");
    li.setAttribute("data-id", id);
    li.appendChild(span("console-to mono", m.to || ""));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(span("console-body", m.body || ""));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(span("muted", (m.flow ? m.flow + " · " : "") + (m.step || "")));
    list.insertBefore(li, list.firstChild);
  });
  // Leaving the page closes the stream at once (the server then ends it).
  window.addEventListener("pagehide", function () { source.close(); });
})();
