/* The main page's widgets: the buttons work as plain forms without JavaScript;
   with it, they save in the background and the dashboard is redrawn in place,
   and widgets can be dragged by their grip to a new place. */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  if (!root) { return; }

  function refresh() {
    return fetch(window.location.pathname, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("dashboard");
      if (!fresh) { throw new Error("no dashboard in the page"); }
      root.innerHTML = fresh.innerHTML;
      root.dataset.csrf = fresh.dataset.csrf;
      enableDragging();
    });
  }

  function fallbackSubmit(form, submitter) {
    // Something went wrong in the background: do it the plain way.
    if (submitter && submitter.name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = submitter.name;
      input.value = submitter.value;
      form.appendChild(input);
    }
    HTMLFormElement.prototype.submit.call(form);
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    event.preventDefault();
    var submitter = event.submitter || null;
    var body = new FormData(form);
    if (submitter && submitter.name) { body.append(submitter.name, submitter.value); }
    root.classList.add("is-busy");
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return refresh();
    }).catch(function () {
      fallbackSubmit(form, submitter);
    }).finally(function () {
      root.classList.remove("is-busy");
    });
  });

  /* Drag and drop, started from the grip only so that text stays selectable. */
  var dragged = null;

  function widgets() {
    return Array.prototype.slice.call(root.querySelectorAll(".widgets > .widget"));
  }

  function saveOrder() {
    var order = widgets().map(function (el) { return el.dataset.widget; });
    return fetch(root.dataset.reorderUrl, {
      method: "POST", credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": root.dataset.csrf
      },
      body: JSON.stringify({ order: order })
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return refresh();
    }).catch(function () { window.location.reload(); });
  }

  function enableDragging() {
    widgets().forEach(function (el) {
      var grip = el.querySelector(".widget__grip");
      if (!grip) { return; }
      grip.addEventListener("mousedown", function () { el.draggable = true; });
      grip.addEventListener("mouseup", function () { el.draggable = false; });
      el.addEventListener("dragstart", function (e) {
        dragged = el;
        el.classList.add("is-dragging");
        e.dataTransfer.effectAllowed = "move";
        e.dataTransfer.setData("text/plain", el.dataset.widget);
      });
      el.addEventListener("dragend", function () {
        el.classList.remove("is-dragging");
        el.draggable = false;
        if (dragged) { dragged = null; saveOrder(); }
      });
      el.addEventListener("dragover", function (e) {
        if (!dragged || dragged === el) { return; }
        e.preventDefault();
        var box = el.getBoundingClientRect();
        var before = (e.clientY - box.top) < box.height / 2 &&
                     (e.clientX - box.left) < box.width;
        el.parentNode.insertBefore(dragged, before ? el : el.nextSibling);
      });
    });
  }

  enableDragging();
}());
