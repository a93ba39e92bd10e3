// callcenter console: progressive enhancement only (every page works without it).
// - Live board: replaces #board with server-rendered HTML pushed over server-sent events.
// - Screen-pops: a supervisor's briefing card appears when a warm transfer dials them.
// - Clocks: elements with data-since (unix seconds) show the time elapsed, every second.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function elapsed(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = elapsed(now - parseFloat(el.getAttribute("data-since")));
    });
  }
  setInterval(tick, 1000);
  tick();

  var body = document.body;
  if (!body.hasAttribute("data-events") || !window.EventSource) return;
  var board = document.getElementById("board");
  var url = "/events" + (board ? "?board_updates=true" : "");
  var dot = document.getElementById("live-dot");
  var source = new EventSource(url);
  source.onopen = function () { if (dot) dot.classList.add("on"); };
  source.onerror = function () {
    if (dot) dot.classList.remove("on");
    // a closed stream after logout or expiry: check the session once, go to login if needed
    fetch("/api/me", { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) window.location = "/login?next=" + encodeURIComponent(location.pathname);
    });
  };
  source.addEventListener("logout", function () {
    window.location = "/login?next=" + encodeURIComponent(location.pathname);
  });
  if (board) {
    source.addEventListener("board", function (ev) {
      board.innerHTML = ev.data;
      tick();
    });
  }
  source.addEventListener("pop", function (ev) {
    var stack = document.getElementById("pops");
    var holder = document.createElement("div");
    holder.innerHTML = ev.data;
    var card = holder.firstElementChild;
    if (!card) return;
    stack.prepend(card);
    card.querySelectorAll("[data-dismiss]").forEach(function (b) {
      b.addEventListener("click", function () { card.remove(); });
    });
    tick();
  });
})();
