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
})();
