// The booking form: as-you-type patient search (radio choices from the server), the types
// of the chosen practitioner, and the chosen type's usual length. Without this script the
// Search and "Show types" buttons do the same by reloading the form.
(function () {
  "use strict";

  var form = document.querySelector("form[data-booking-form]");
  if (!form || !window.fetch) return;
  var picker = form.querySelector("[data-patient-picker]");
  var input = picker.querySelector("input[name=patient_q]");
  var results = picker.querySelector("[data-patient-results]");
  var refreshButton = form.querySelector("button[data-refresh]");
  var practitioner = form.querySelector("select[name=practitioner]");
  var type = form.querySelector("select[name=appointment_type]");
  var durationHelp = form.querySelector("[data-duration-help]");
  var durationsScript = document.getElementById("type-durations");
  var durations = durationsScript ? JSON.parse(durationsScript.textContent) : {};
  var WAIT_MS = 250;
  var timer = null;
  var inFlight = null;

  function checkedPatient() {
    var checked = results.querySelector("input[name=patient]:checked");
    return checked ? checked.value : "";
  }

  function search() {
    if (inFlight) inFlight.abort();
    inFlight = window.AbortController ? new AbortController() : null;
    var params = new URLSearchParams({ q: input.value, selected: checkedPatient() });
    results.setAttribute("aria-busy", "true");
    fetch(picker.dataset.searchUrl + "?" + params.toString(), {
      credentials: "same-origin",
      signal: inFlight ? inFlight.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("search failed: " + response.status);
        return response.text();
      })
      .then(function (html) {
        results.innerHTML = html; // rendered and escaped by Django's templates
        results.removeAttribute("aria-busy");
      })
      .catch(function (error) {
        if (error.name !== "AbortError") results.removeAttribute("aria-busy");
      });
  }

  input.addEventListener("input", function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(search, WAIT_MS);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault(); // Enter here searches; it does not book
    if (timer) clearTimeout(timer);
    search();
  });
  form.querySelector("button[data-find]").addEventListener("click", function (event) {
    event.preventDefault();
    search();
  });

  // Another practitioner offers other types: reload the form (what was typed is kept).
  if (refreshButton && practitioner) {
    refreshButton.hidden = true;
    practitioner.addEventListener("change", function () {
      form.requestSubmit ? form.requestSubmit(refreshButton) : refreshButton.click();
    });
  }

  function showUsualLength() {
    if (!type || !durationHelp) return;
    var minutes = durations[type.value];
    durationHelp.textContent = minutes
      ? "Empty: the usual " + minutes + " minutes for this type."
      : "Empty: the type's usual length.";
  }
  if (type) type.addEventListener("change", showUsualLength);
  showUsualLength();

  // Someone quick (or a slow network) may type before this script has run: search for
  // what is already in the box rather than wait for a keystroke that already happened.
  if (input.value.trim() && !results.querySelector("input[name=patient]")) search();
})();
