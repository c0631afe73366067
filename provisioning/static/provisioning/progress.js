// Progress page: polls the status every ~700 ms and draws the bar and the steps; when the
// clinic is ready it submits the "Go to your clinic" form (a POST: the hand-off is minted
// only for this page, never for a crawler following a link). Without this script the page
// reloads itself (meta refresh) and the person presses the button.
(function () {
  "use strict";

  var page = document.querySelector("[data-status-url]");
  if (!page) return;
  var url = page.getAttribute("data-status-url");
  var every = parseInt(page.getAttribute("data-poll-ms"), 10) || 700;
  var bar = page.querySelector("[role=progressbar]");
  var fill = page.querySelector(".signup-bar-fill");
  var message = page.querySelector("[data-testid=progress-message]");
  var steps = page.querySelector("[data-testid=progress-steps]");

  function go(action) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = action;
    document.body.appendChild(form);
    form.submit();
  }

  function draw(status) {
    page.setAttribute("data-state", status.state);
    if (fill) fill.style.width = status.percent + "%";
    if (bar) bar.setAttribute("aria-valuenow", String(status.percent));
    if (message && message.textContent !== status.message) message.textContent = status.message;
    if (steps && status.steps && status.steps.length) {
      steps.textContent = "";
      status.steps.forEach(function (step) {
        var item = document.createElement("li");
        item.className = "signup-step signup-step-" + step.state;
        item.setAttribute("data-step", step.step);
        item.textContent = step.label;
        steps.appendChild(item);
      });
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (status) {
        draw(status);
        if (status.state === "completed" && status.continue_url) { go(status.continue_url); return; }
        if (status.state === "failed") { window.location.reload(); return; }
        window.setTimeout(poll, every);
      })
      .catch(function () {
        if (message) message.textContent = "Lost the connection for a moment; still trying…";
        window.setTimeout(poll, every * 3);
      });
  }

  var ready = page.querySelector("form[data-continue]");
  if (page.getAttribute("data-state") === "completed" && ready) {
    go(ready.getAttribute("action"));
    return;
  }
  poll();
})();
