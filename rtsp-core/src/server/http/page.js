// Keeps the page's figures current without a framework: every 2 s, /api/streams updates each
// card's state, size, fps and readers; a stream that appears or goes, or a card without a
// preview whose stream has something to show, reloads the page.
(function () {
  "use strict";
  var shows = { live: true, ready: true, waiting: true, loading: true };
  function set(card, field, value) {
    var el = card.querySelector('[data-field="' + field + '"]');
    if (el && el.textContent !== value) {
      el.textContent = value;
    }
    return el;
  }
  function update(doc) {
    var cards = document.querySelectorAll("section.stream[data-name]");
    if (cards.length !== doc.streams.length) {
      return false;
    }
    for (var i = 0; i < doc.streams.length; i++) {
      var s = doc.streams[i];
      var card = null;
      for (var j = 0; j < cards.length; j++) {
        if (cards[j].getAttribute("data-name") === s.name) {
          card = cards[j];
        }
      }
      if (!card || (!card.querySelector("img") && shows[s.state])) {
        return false;
      }
      var state = set(card, "state", s.state);
      if (state) {
        state.className = "state-" + s.state;
      }
      set(card, "size", s.width && s.height ? s.width + "\u00d7" + s.height : "\u2013");
      set(card, "fps", s.fps ? s.fps.toFixed(2) : "\u2013");
      set(card, "readers", String(s.readers));
    }
    return true;
  }
  function tick() {
    fetch("/api/streams", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) {
        if (doc && !update(doc)) {
          location.reload();
          return;
        }
        setTimeout(tick, 2000);
      })
      .catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 2000);
})();
