/* Interactive hints over the interface (driver.js, vendored under
   static/vendor/driverjs): the tour of the current page starts by itself on
   the user's first visit and again from the «?» button of the header. When it
   is finished or closed, POST /tours/<page>/seen (JSON, the CSRF token in
   X-CSRFToken) remembers it on the server, so it does not start by itself
   again. Steps come from docflow/tours/steps.py in the button's data
   attributes; a step whose element is not on the page (no right, empty list)
   is skipped. */
(function () {
  "use strict";

  var button = document.querySelector("[data-tour-help]");
  var body = document.body;
  if (!button || !body) { return; }
  var api = window.driver && window.driver.js && window.driver.js.driver;
  if (typeof api !== "function") { button.hidden = true; return; }

  var page = body.dataset.tourPage || "";
  var seen = (body.dataset.toursSeen || "").split(/\s+/).filter(Boolean);
  var steps = [];
  try { steps = JSON.parse(button.dataset.tourSteps || "[]"); } catch (e) { steps = []; }
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var running = null;

  // driver.js puts titles and texts in with innerHTML: ours are plain text.
  function text(value) {
    return String(value || "").replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function visible(el) {
    return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  }

  function present() {
    var out = [];
    steps.forEach(function (step) {
      var popover = { title: text(step.title), description: text(step.text) };
      if (!step.selector) { out.push({ popover: popover }); return; }
      var el = null;
      try { el = document.querySelector(step.selector); } catch (e) { el = null; }
      if (visible(el)) { out.push({ element: el, popover: popover }); }
    });
    return out;
  }

  function remember(outcome) {
    if (!page) { return; }
    if (seen.indexOf(page) < 0) { seen.push(page); }
    body.dataset.toursSeen = seen.join(" ");
    fetch(button.dataset.seenUrl, {
      method: "POST", credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrf
      },
      body: JSON.stringify({ outcome: outcome })
    }).catch(function () { /* shown again next time: no harm */ });
  }

  function start() {
    if (running) { return; }
    var list = present();
    if (!list.length) { return; }
    var tour = api({
      steps: list,
      showProgress: list.length > 1,
      progressText: button.dataset.labelProgress || "{{current}} / {{total}}",
      nextBtnText: text(button.dataset.labelNext),
      prevBtnText: text(button.dataset.labelPrev),
      doneBtnText: text(button.dataset.labelDone),
      popoverClass: "tour-popover",
      smoothScroll: false,
      allowClose: true,
      onPopoverRender: function (popover) {
        popover.closeButton.setAttribute("aria-label", button.dataset.labelClose || "");
        popover.closeButton.setAttribute("title", button.dataset.labelClose || "");
        popover.wrapper.setAttribute("data-testid", "tour-popover");
      },
      onDestroyStarted: function () {
        var finished = !tour.hasNextStep();
        remember(finished ? "completed" : "dismissed");
        tour.destroy();
      },
      onDestroyed: function () {
        running = null;
        button.focus();
      }
    });
    running = tour;
    tour.drive();
  }

  button.addEventListener("click", start);
  if (page && seen.indexOf(page) < 0 && body.dataset.toursAutostart !== "off") {
    // After the page's own scripts have laid it out.
    window.setTimeout(start, 300);
  }
})();
