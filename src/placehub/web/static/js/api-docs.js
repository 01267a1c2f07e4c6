// Starts Swagger UI on /api/docs with placehub's OpenAPI document (no inline script: CSP).
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    domNode: node,
    // Deep links put a link inside each operation's button (nested controls, axe "serious").
    deepLinking: false,
    // Sent with the session cookie, so "Try it out" acts as the signed-in officer.
    withCredentials: true,
    validatorUrl: null,
  });
})();
