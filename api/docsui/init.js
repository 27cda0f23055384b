// Starts Swagger UI on the spec this server serves. No inline script (the page's CSP allows
// scripts from this origin only) and no online validator: nothing is loaded from elsewhere.
// The spec's first server is the local development URL (generated clients need an absolute
// default base URL); on this page "Try it out" calls the origin that served the page.
window.addEventListener("load", function () {
  fetch("/openapi.json")
    .then(function (r) { return r.json(); })
    .then(function (spec) {
      var here = window.location.origin;
      spec.servers = [{ url: here, description: "This server" }].concat(
        (spec.servers || []).filter(function (s) { return s.url !== "/" && s.url !== here; }));
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        persistAuthorization: false,
      });
    });
});
