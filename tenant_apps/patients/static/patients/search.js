// As-you-type patient search: after a short pause, fetches the same page with ?fragment=1
// and swaps in the results. Without this script the form is a plain GET search.
(function () {
  "use strict";

  var form = document.querySelector("form[data-live-search]");
  var results = document.querySelector("[data-results]");
  if (!form || !results || !window.fetch) return;
  var input = form.querySelector("input[name=q]");
  var exportLink = document.querySelector("[data-export-link]");
  var timer = null;
  var inFlight = null;
  var WAIT_MS = 250;

  function queryString() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "") params.append(key, value);
    });
    return params;
  }

  function search() {
    var params = queryString();
    var visible = params.toString();
    if (inFlight) inFlight.abort();
    inFlight = window.AbortController ? new AbortController() : null;
    params.append("fragment", "1");
    fetch(form.action + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
      signal: inFlight ? inFlight.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("search failed: " + response.status);
        return response.text();
      })
      .then(function (html) {
        results.innerHTML = html; // server-rendered and escaped by Django's templates
        history.replaceState(null, "", form.action + (visible ? "?" + visible : ""));
        if (exportLink) {
          var exportParams = new URLSearchParams(visible);
          exportParams.delete("per_page");
          var base = exportLink.href.split("?")[0];
          exportLink.href = base + (exportParams.toString() ? "?" + exportParams.toString() : "");
        }
      })
      .catch(function (error) {
        if (error.name !== "AbortError") form.submit(); // fall back to a full page load
      });
  }

  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(search, WAIT_MS);
  }

  input.addEventListener("input", later);
  form.addEventListener("change", function (event) {
    if (event.target !== input) search();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (timer) clearTimeout(timer);
    search();
  });
})();
