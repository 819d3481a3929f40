// Starts Swagger UI on the API documentation page (/api/v1/docs).
// A separate file, not an inline script: the page allows scripts of this origin only.
(function () {
  "use strict";
  function start() {
    var node = document.getElementById("swagger-ui");
    if (!node || typeof window.SwaggerUIBundle !== "function") {
      return;
    }
    window.ui = window.SwaggerUIBundle({
      url: node.getAttribute("data-spec-url"),
      domNode: node,
      deepLinking: true,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      persistAuthorization: false,
      tryItOutEnabled: false,
      validatorUrl: null,
      presets: [window.SwaggerUIBundle.presets.apis],
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
