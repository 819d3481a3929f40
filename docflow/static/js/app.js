// docflow — small progressive enhancements shared by every page (no inline scripts: CSP).
(function () {
  "use strict";
  // Forms marked data-confirm ask before they are sent (delete, revoke, unbind…).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  }, true);

  // «Ещё» in the top menu is a <details>: it closes on a click elsewhere or Esc.
  function closeMenus(except) {
    document.querySelectorAll("details.navmore[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    closeMenus(target instanceof Element ? target.closest("details.navmore") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeMenus(null); }
  });
})();
