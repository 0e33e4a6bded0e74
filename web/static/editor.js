// smsflow web UI: the editor's line numbers and error marks, and the
// settings page's reveal and copy buttons. Loaded only by those pages; no
// inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";

  // Editor: a gutter of line numbers beside the textarea, the lines with
  // problems marked, and "Line N" links that put the cursor there.
  var ta = document.getElementById("yaml");
  var gutter = document.getElementById("gutter");

  function problemLines() {
    var lines = {};
    document.querySelectorAll("#problems li[data-line]").forEach(function (li) {
      var n = parseInt(li.getAttribute("data-line"), 10);
      if (n > 0) {
        var sev = li.classList.contains("problem-warning") ? "warning" : "error";
        if (lines[n] !== "error") lines[n] = sev;
      }
    });
    return lines;
  }

  function drawGutter() {
    if (!ta || !gutter) return;
    var count = ta.value.split("\n").length;
    var marks = problemLines();
    gutter.textContent = "";
    for (var i = 1; i <= count; i++) {
      var span = document.createElement("span");
      span.textContent = String(i);
      span.setAttribute("data-line", String(i));
      if (marks[i]) span.className = "mark-" + marks[i];
      gutter.appendChild(span);
      gutter.appendChild(document.createTextNode("\n"));
    }
    gutter.scrollTop = ta.scrollTop;
  }

  function goTo(line, col) {
    if (!ta) return;
    var lines = ta.value.split("\n");
    var pos = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    var len = lines[line - 1] ? lines[line - 1].length : 0;
    ta.focus();
    ta.setSelectionRange(pos + Math.max(0, Math.min(col - 1, len)), pos + len);
    var lineHeight = ta.scrollHeight / Math.max(lines.length, 1);
    ta.scrollTop = Math.max(0, (line - 5) * lineHeight);
  }

  if (ta && gutter) {
    ta.addEventListener("input", drawGutter);
    ta.addEventListener("scroll", function () { gutter.scrollTop = ta.scrollTop; });
    document.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail && e.detail.target && e.detail.target.id === "checks") drawGutter();
    });
    drawGutter();
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest("a.goto");
    if (a) {
      e.preventDefault();
      goTo(parseInt(a.getAttribute("data-line"), 10) || 1, parseInt(a.getAttribute("data-col"), 10) || 1);
      return;
    }

    // Settings: show a key, or copy it.
    var reveal = e.target.closest("button[data-reveal]");
    if (reveal) {
      var el = document.getElementById(reveal.getAttribute("data-reveal"));
      if (!el) return;
      var shown = el.getAttribute("data-shown") === "1";
      el.textContent = shown ? el.getAttribute("data-masked") : el.getAttribute("data-key");
      el.setAttribute("data-shown", shown ? "0" : "1");
      reveal.querySelector(".verb").textContent = shown ? "Show" : "Hide";
      reveal.setAttribute("aria-pressed", shown ? "false" : "true");
      return;
    }
    var copy = e.target.closest("button[data-copy]");
    if (copy) {
      var src = document.getElementById(copy.getAttribute("data-copy"));
      if (!src || !navigator.clipboard) return;
      navigator.clipboard.writeText(src.getAttribute("data-key") || src.textContent).then(function () {
        copy.querySelector(".verb").textContent = "Copied";
      }, function () {
        copy.querySelector(".verb").textContent = "Copy failed: select the key";
      });
    }
  });
})();
