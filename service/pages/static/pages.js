/* courtdoc pages: the pre-check form (files by drag and drop or the picker, sent with fetch)
   and the results that fill in as each file is checked (polling a JSON fragment endpoint).
   Plain JavaScript, no library; every string a person reads comes from the page. */
(function () {
  "use strict";

  var POLL_MS = 700;

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(params, key) ? params[key] : whole;
    });
  }

  /* Poll `url` and put each answer's HTML into `box` until the answer says it is done. */
  function poll(box, url, statusEl) {
    function once() {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (data) {
          if (data.html !== box.getAttribute("data-html-seen")) {
            box.innerHTML = data.html;
            box.setAttribute("data-html-seen", data.html);
          }
          if (statusEl && statusEl.textContent !== data.status) { statusEl.textContent = data.status; }
          if (data.done) {
            box.removeAttribute("data-poll");
            box.setAttribute("data-done", "true");
          } else {
            window.setTimeout(once, POLL_MS);
          }
        })
        .catch(function () { window.setTimeout(once, POLL_MS * 3); });
    }
    once();
  }

  function setupForm(form) {
    var input = document.getElementById("files");
    var zone = document.getElementById("drop-zone");
    var list = document.getElementById("chosen");
    var none = document.getElementById("no-files");
    var errorEl = document.getElementById("form-error");
    var button = document.getElementById("check");
    var maxFiles = parseInt(form.getAttribute("data-max-files"), 10);
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    var chosen = [];

    function s(name) { return form.getAttribute("data-s-" + name) || ""; }

    function showError(text) {
      errorEl.textContent = text;
      errorEl.hidden = !text;
    }

    function render() {
      list.textContent = "";
      chosen.forEach(function (file, i) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        name.className = "name";
        name.textContent = file.name;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "remove";
        remove.textContent = s("remove");
        remove.setAttribute("aria-label", fill(s("remove-file"), { name: file.name }));
        remove.addEventListener("click", function () {
          chosen.splice(i, 1);
          render();
          var next = list.querySelectorAll("button.remove")[Math.min(i, chosen.length - 1)];
          (next || input).focus();
        });
        li.appendChild(name);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(remove);
        list.appendChild(li);
      });
      none.hidden = chosen.length > 0;
    }

    function add(files) {
      for (var i = 0; i < files.length; i++) { chosen.push(files[i]); }
      showError("");
      render();
    }

    input.addEventListener("change", function () {
      add(input.files);
      input.value = "";
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add("dragging");
      });
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files) { add(e.dataTransfer.files); }
    });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!chosen.length) { showError(s("no-files")); input.focus(); return; }
      if (chosen.length > maxFiles) { showError(s("too-many")); return; }
      for (var i = 0; i < chosen.length; i++) {
        if (chosen[i].size > maxBytes) { showError(fill(s("too-large"), { name: chosen[i].name })); return; }
      }
      var lang = document.getElementById("lang").value;
      var declared = document.getElementById("declared").value.split("\n")
        .map(function (line) { return line.trim(); })
        .filter(function (line) { return line.length > 0; });
      var body = new FormData();
      body.append("metadata", new Blob([JSON.stringify({ declared: declared })], { type: "application/json" }), "metadata.json");
      chosen.forEach(function (file) { body.append("files", file, file.name); });
      var headers = { Accept: "application/json" };
      var key = document.getElementById("api-key");
      if (key && key.value) { headers.Authorization = "Bearer " + key.value.trim(); }
      showError("");
      button.disabled = true;
      var section = document.getElementById("results-section");
      var statusEl = document.getElementById("progress-status");
      section.hidden = false;
      statusEl.textContent = s("sending");
      fetch("/precheck?lang=" + encodeURIComponent(lang), { method: "POST", body: body, headers: headers })
        .then(function (r) {
          return r.json().then(function (data) { return { ok: r.ok, data: data }; });
        })
        .then(function (answer) {
          button.disabled = false;
          if (!answer.ok) {
            section.hidden = true;
            showError((answer.data.error && answer.data.error.message) || s("network"));
            return;
          }
          if (window.history && window.history.replaceState) {
            window.history.replaceState(null, "", answer.data.page_url);
          }
          chosen = [];
          render();
          // Keyboard and screen-reader users land on the results, which fill in below.
          document.getElementById("results-heading").focus();
          poll(document.getElementById("results"), answer.data.fragment_url, statusEl);
        })
        .catch(function () {
          button.disabled = false;
          section.hidden = true;
          showError(s("network"));
        });
    });
    render();
  }

  /* --- a finding on its page: the dialog with the evidence drawn over the page's picture --- */

  var SVG = "http://www.w3.org/2000/svg";
  var opener = null;

  function svgEl(name, attrs) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) { el.setAttribute(key, String(attrs[key])); });
    return el;
  }

  /* The picture, and over it an SVG in the page's own points: outlines, lines and labels. */
  function drawEvidence(view, ev) {
    var frame = document.createElement("div");
    frame.className = "page-frame";
    var img = document.createElement("img");
    img.src = ev.src;
    img.alt = ev.alt || "";
    img.className = "page-picture";
    frame.appendChild(img);
    var svg = svgEl("svg", {
      viewBox: "0 0 " + ev.width_pt + " " + ev.height_pt,
      preserveAspectRatio: "none",
      "class": "evidence",
      "aria-hidden": "true",
      focusable: "false"
    });
    var size = Math.max(9, ev.width_pt / 45);
    (ev.boxes || []).forEach(function (box) {
      var shape;
      if (box.kind === "line") {
        shape = svgEl("line", { x1: box.x, y1: box.y, x2: box.x + box.w, y2: box.y + box.h, "class": "box box-line" });
      } else {
        shape = svgEl("rect", { x: box.x, y: box.y, width: Math.max(box.w, 1), height: Math.max(box.h, 1), "class": "box box-rect" });
      }
      svg.appendChild(shape);
      if (box.label) {
        var label = svgEl("text", {
          x: box.x + (box.kind === "line" ? box.w : 0),
          y: Math.max(size, Math.min(box.y, box.y + box.h) - size / 3),
          "font-size": size,
          "text-anchor": box.kind === "line" ? "end" : "start",
          "class": "box-label"
        });
        label.textContent = box.label;
        svg.appendChild(label);
      }
    });
    frame.appendChild(svg);
    view.appendChild(frame);
    // The first box in sight once the picture has its height (a phone shows part of a page).
    var first = svg.querySelector(".box");
    if (first) {
      img.addEventListener("load", function () { first.scrollIntoView({ block: "center" }); });
    }
  }

  function showEvidence(dialog, ev) {
    var view = document.getElementById("page-view");
    var note = document.getElementById("page-dialog-note");
    view.textContent = "";
    if (ev.reason) {
      note.textContent = ev.reason;
      note.className = "dialog-note no-picture";
      return;
    }
    if (ev.alt) { document.getElementById("page-dialog-title").textContent = ev.alt; }
    note.className = "dialog-note";
    note.textContent = ev.note || "";
    drawEvidence(view, ev);
    dialog.setAttribute("data-shown", "true");
  }

  function openPage(button) {
    var dialog = document.getElementById("page-dialog");
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    opener = button;
    dialog.removeAttribute("data-shown");
    document.getElementById("page-dialog-title").textContent = button.getAttribute("data-title") || "";
    document.getElementById("page-view").textContent = "";
    var note = document.getElementById("page-dialog-note");
    note.className = "dialog-note";
    note.textContent = dialog.getAttribute("data-s-loading");
    if (!dialog.open) { dialog.showModal(); }
    dialog.querySelector("[data-close]").focus();
    var inline = button.getAttribute("data-evidence");
    if (inline) {
      showEvidence(dialog, JSON.parse(inline));
      return;
    }
    fetch(button.getAttribute("data-evidence-url"), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (ev) {
        if (opener === button) { showEvidence(dialog, ev.error ? { reason: ev.error.message } : ev); }
      })
      .catch(function () {
        if (opener === button) { showEvidence(dialog, { reason: dialog.getAttribute("data-s-error") }); }
      });
  }

  function setupDialog() {
    var dialog = document.getElementById("page-dialog");
    if (!dialog) { return; }
    document.addEventListener("click", function (e) {
      var button = e.target.closest ? e.target.closest("[data-open-page]") : null;
      if (button) { openPage(button); }
    });
    dialog.addEventListener("click", function (e) {
      if (e.target.closest("[data-close]") || e.target === dialog) { dialog.close(); }
    });
    dialog.addEventListener("close", function () {
      // Back where the reader was; a button redrawn meanwhile by the polling is found again.
      var back = opener;
      if (back && !document.body.contains(back)) { back = document.getElementById("results-heading"); }
      opener = null;
      if (back) { back.focus(); }
    });
    // A thumbnail that cannot be drawn keeps its page number, not a broken image.
    document.addEventListener("error", function (e) {
      if (e.target && e.target.tagName === "IMG" && e.target.closest(".thumbs")) { e.target.remove(); }
    }, true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupDialog();
    var form = document.getElementById("precheck-form");
    if (form) { setupForm(form); }
    var box = document.querySelector("[data-poll]");
    if (box) { poll(box, box.getAttribute("data-poll"), document.getElementById("progress-status")); }
  });
})();
