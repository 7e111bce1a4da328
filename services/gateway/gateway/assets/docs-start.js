// Starts Swagger UI on the docs page with the OpenAPI document the page names.
// A file of its own, so that the page runs no inline script.
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({ url: container.dataset.specUrl, dom_id: "#swagger-ui-container" });
});
