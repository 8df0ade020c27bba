// rowport admin: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Import: pick the format from the file name's extension.
  var file = document.getElementById("file");
  var format = document.querySelector("[data-guess-format]");
  if (file && format) {
    file.addEventListener("change", function () {
      var name = file.files && file.files[0] ? file.files[0].name : "";
      var ext = name.indexOf(".") >= 0 ? name.split(".").pop().toLowerCase() : "";
      if (ext === "xlsm") { ext = "xlsx"; }
      if (ext === "txt") { ext = "csv"; }
      if (ext === "yml") { ext = "yaml"; }
      if (ext === "htm") { ext = "html"; }
      if (ext === "ndjson") { ext = "jsonl"; }
      for (var i = 0; i < format.options.length; i++) {
        if (format.options[i].value === ext) { format.value = ext; return; }
      }
      format.value = "";
    });
  }

  // "Select all" boxes: data-select-all="x" drives every box with data-field="x" (or the
  // row boxes for "row").
  document.querySelectorAll("[data-select-all]").forEach(function (all) {
    var group = all.getAttribute("data-select-all");
    var boxes = function () {
      return group === "row"
        ? document.querySelectorAll("[data-row-check]")
        : document.querySelectorAll('[data-field="' + group + '"]');
    };
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
    });
    var sync = function () {
      var list = boxes(), on = 0;
      list.forEach(function (b) { if (b.checked) { on++; } });
      all.checked = list.length > 0 && on === list.length;
      all.indeterminate = on > 0 && on < list.length;
    };
    boxes().forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });

  // Export: show the fields of the chosen resource only.
  var resource = document.querySelector("[data-resource-select]");
  if (resource) {
    var show = function () {
      document.querySelectorAll("[data-fields-of]").forEach(function (set) {
        var on = set.getAttribute("data-fields-of") === resource.value;
        set.hidden = !on;
        set.disabled = !on;
      });
    };
    resource.addEventListener("change", show);
    show();
  }

  // Filters apply as soon as one changes.
  document.querySelectorAll("[data-filter]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // A running import: poll its status, reload for the result page when it ends.
  var job = document.getElementById("job");
  if (job) {
    var bar = document.getElementById("progress");
    var text = document.getElementById("progress-text");
    var url = job.getAttribute("data-status-url");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.finished) { window.location.reload(); return; }
          bar.max = s.total || 1;
          bar.value = s.done;
          var pct = s.total ? Math.min(100, Math.floor(s.done * 100 / s.total)) : 0;
          text.textContent = s.rows.toLocaleString("en") + " rows read (" + pct + "%)";
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 500);
  }
})();
