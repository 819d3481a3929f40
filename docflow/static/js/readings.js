// «Передача показаний»: each value is saved as soon as its field loses focus
// (fetch + the CSRF token in X-CSRFToken); leaving the page with values not
// sent into the calculation asks first. Without this script the form posts
// every value at once, so the page works the same.
(function () {
  "use strict";

  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  var form = document.querySelector("form[data-readings]");
  if (!form) { return; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var unsent = parseInt(form.dataset.unsent || "0", 10) || 0;
  var pending = 0;        // requests on the way
  var leaving = false;    // the user pressed a button of the form
  var saveAll = form.querySelector("[data-save-all]");
  if (saveAll) { saveAll.hidden = true; }  // every value is saved as it is typed

  function showUnsent(count) {
    unsent = count;
    var pill = form.querySelector("[data-unsent-pill]");
    var counter = form.querySelector("[data-unsent-count]");
    if (counter) { counter.textContent = String(count); }
    if (pill) { pill.hidden = count === 0; }
  }

  function statusOf(input) {
    return document.getElementById(input.getAttribute("aria-describedby"));
  }

  function setStatus(input, text, kind) {
    var status = statusOf(input);
    if (!status) { return; }
    status.textContent = text;
    status.classList.remove("is-error", "is-ready", "is-saving");
    if (kind) { status.classList.add("is-" + kind); }
    input.classList.toggle("is-invalid", kind === "error");
    input.setAttribute("aria-invalid", kind === "error" ? "true" : "false");
  }

  function save(input) {
    var value = input.value.trim();
    if (value === (input.dataset.saved || "")) { return; }
    pending += 1;
    setStatus(input, "Сохранение…", "saving");
    fetch(form.dataset.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": csrf},
      body: JSON.stringify({meter_id: input.dataset.meter, kind: input.dataset.kind,
                            period: form.dataset.period, value: value})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return {ok: response.ok, body: body};
      });
    }).then(function (result) {
      if (result.ok) {
        input.dataset.saved = value;
        if (result.body.padded) { input.value = result.body.padded; input.dataset.saved = result.body.padded; }
        var text = result.body.status_title || "";
        if (result.body.note) { text += " · " + result.body.note; }
        setStatus(input, text, result.body.status ? "ready" : "");
        if (typeof result.body.unsent === "number") { showUnsent(result.body.unsent); }
      } else {
        var message = (result.body.error && result.body.error.message) || "Не удалось сохранить показание.";
        setStatus(input, message, "error");
      }
    }).catch(function () {
      setStatus(input, "Нет связи с сервером: показание не сохранено.", "error");
    }).then(function () { pending -= 1; });
  }

  form.querySelectorAll("input[data-meter]").forEach(function (input) {
    input.dataset.saved = input.value.trim();
    input.addEventListener("change", function () { save(input); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); save(input); }
    });
  });

  form.addEventListener("submit", function () { leaving = true; });

  window.addEventListener("beforeunload", function (event) {
    if (leaving) { return undefined; }
    var typed = Array.prototype.some.call(form.querySelectorAll("input[data-meter]"), function (input) {
      return input.value.trim() !== (input.dataset.saved || "");
    });
    if (unsent > 0 || pending > 0 || typed) {
      event.preventDefault();
      event.returnValue = "Показания не переданы в расчёт. Уйти со страницы?";
      return event.returnValue;
    }
    return undefined;
  });
})();
