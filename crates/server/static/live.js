// Grant ledger: live updates. Pages work without this script; with it, an open page
// reloads when another user commits something, so its figures stay current. A page with
// a form that has been started is never reloaded (that would lose what was typed): it
// says that the figures have changed instead.
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var head = document.querySelector("meta[name='ledger-head']");
  var after = head ? head.getAttribute("content") : "";
  var started = false;
  document.addEventListener("input", function (e) {
    if (e.target && e.target.closest && e.target.closest("form[data-keep]")) { started = true; }
  });
  var source = new EventSource("/live?after=" + encodeURIComponent(after));
  source.addEventListener("commit", function () {
    if (document.querySelector("form[data-keep]")) {
      if (started) {
        var note = document.getElementById("live-note");
        if (note) { note.hidden = false; }
        return;
      }
    }
    source.close();
    window.location.reload();
  });
})();
