// Signup form: checks the clinic's address as it is typed, fills time zone and currency
// from the country, and keeps a double click from sending the form twice. The server checks
// everything again on submit; without this script the form works the same, minus the hints.
(function () {
  "use strict";

  var DEBOUNCE_MS = 300;

  function liveCheck(form) {
    var input = form.querySelector("[data-subdomain-input]");
    var status = form.querySelector("#subdomain-check");
    if (!input || !status) return;
    var url = form.getAttribute("data-check-url");
    var timer = null;
    var asked = 0; // only the answer to the latest question is shown

    function show(state, message) {
      status.textContent = message;
      status.setAttribute("data-state", state);
      status.className = "signup-check small signup-check-" + state;
    }

    function check() {
      var value = input.value.trim();
      if (!value) { show("empty", ""); return; }
      var mine = ++asked;
      show("checking", "Checking…");
      fetch(url + "?subdomain=" + encodeURIComponent(value), {
        headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin"
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (answer) {
          if (mine !== asked) return;
          show(answer.available ? "available" : "taken", answer.message);
        })
        .catch(function () {
          if (mine === asked) show("unknown", "Could not check the address just now.");
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, DEBOUNCE_MS);
    });
    if (input.value.trim()) check();
  }

  function countryDefaults(form) {
    var data = document.getElementById("country-defaults");
    var country = form.querySelector("select[name=country]");
    var zone = form.querySelector("select[name=time_zone]");
    var currency = form.querySelector("input[name=currency]");
    if (!data || !country) return;
    var defaults = JSON.parse(data.textContent);
    // A field the person changed themselves is theirs: the country no longer overwrites it.
    var touched = { zone: false, currency: false };
    if (zone) zone.addEventListener("change", function () { touched.zone = true; });
    if (currency) currency.addEventListener("input", function () { touched.currency = true; });
    country.addEventListener("change", function () {
      var pair = defaults[country.value];
      if (!pair) return;
      if (zone && !touched.zone) zone.value = pair[0];
      if (currency && !touched.currency) currency.value = pair[1];
    });
  }

  function singleSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
      form.setAttribute("data-submitted", "1");
      var button = form.querySelector("[data-single-submit]");
      if (button) button.setAttribute("aria-busy", "true");
    });
  }

  document.querySelectorAll("form[data-check-url]").forEach(function (form) {
    liveCheck(form);
    countryDefaults(form);
    singleSubmit(form);
  });
})();
