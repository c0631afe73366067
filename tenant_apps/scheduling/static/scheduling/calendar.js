// The day and week views: keeps the red current-time line moving, opens the booking form
// for a clicked empty time, and moves appointments by drag and drop (pointer events: mouse,
// pen and touch alike). The page works without it: blocks are links to the appointment's
// page, which has a reschedule form, and the toolbar has a Book button.
//
// Positions are minutes since the column's first instant (data-start-ms) times the
// column's pixels per minute, the same elapsed-time scale the server drew with, so times
// stay right on a day with a daylight-saving change.
(function () {
  "use strict";

  var root = document.querySelector("[data-calendar]");
  if (!root || !window.fetch) return;
  var SNAP = Number(root.dataset.snap) || 5; // minutes a dragged block snaps to
  var BOOK_SNAP = 15; // minutes a clicked empty time rounds down to
  var DRAG_AFTER_PX = 6; // a press that moves less than this is a click
  var canManage = root.hasAttribute("data-can-manage");
  var message = root.querySelector("[data-cal-message]");
  var csrfInput = root.querySelector("input[name=csrfmiddlewaretoken]");
  var drag = null;
  var swallowClick = false;

  function columns() {
    return Array.prototype.slice.call(root.querySelectorAll("[data-col]"));
  }

  function pixelsPerMinute(col) {
    return col.getBoundingClientRect().height / Number(col.dataset.minutes);
  }

  function at(minutes) {
    return "calc(" + minutes.toFixed(2) + " * var(--ppm))";
  }

  function say(text, ok) {
    if (!message) return;
    message.textContent = text;
    message.hidden = false;
    message.classList.toggle("cal-ok", !!ok);
    message.classList.toggle("error", !ok);
  }

  // --- the current time ---------------------------------------------------------------------

  function placeNowLines() {
    columns().forEach(function (col) {
      var line = col.querySelector("[data-now]");
      if (!line) return;
      var minutes = (Date.now() - Number(col.dataset.startMs)) / 60000;
      var inside = minutes >= 0 && minutes <= Number(col.dataset.minutes);
      line.hidden = !inside;
      if (inside) line.style.top = at(minutes);
    });
  }

  // --- click an empty time to book ----------------------------------------------------------

  function bookAt(col, clientY) {
    var offset = (clientY - col.getBoundingClientRect().top) / pixelsPerMinute(col);
    var minutes = Math.max(0, Math.floor(offset / BOOK_SNAP) * BOOK_SNAP);
    var start = new Date(Number(col.dataset.startMs) + minutes * 60000);
    var params = new URLSearchParams();
    if (col.dataset.practitioner) params.set("practitioner", col.dataset.practitioner);
    if (col.dataset.room) params.set("room", col.dataset.room);
    params.set("start", start.toISOString()); // an instant: no doubt on a DST day
    params.set("next", location.pathname + location.search);
    location.href = root.dataset.bookUrl + "?" + params.toString();
  }

  root.addEventListener(
    "click",
    function (event) {
      if (swallowClick) {
        // The click that ends a drag must not open the appointment's page.
        swallowClick = false;
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );

  root.addEventListener("click", function (event) {
    if (!canManage || event.defaultPrevented) return;
    var col = event.target.closest("[data-col]");
    if (!col || event.target.closest(".cal-block")) return;
    bookAt(col, event.clientY);
  });

  // --- drag to reschedule -------------------------------------------------------------------

  function columnUnder(clientX) {
    var found = null;
    columns().forEach(function (col) {
      var rect = col.getBoundingClientRect();
      if (clientX >= rect.left && clientX < rect.right) found = col;
    });
    return found;
  }

  function timeLabel(date) {
    var zone = root.dataset.zone || undefined;
    try {
      return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: zone });
    } catch (error) {
      return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    }
  }

  function putBack(state) {
    if (state.block.parentNode !== state.origin) state.origin.appendChild(state.block);
    state.block.setAttribute("style", state.style);
    state.block.classList.remove("cal-dragging", "cal-saving");
    if (state.timeText !== null) state.time.textContent = state.timeText;
  }

  function startOf(state) {
    return new Date(Number(state.col.dataset.startMs) + state.minutes * 60000);
  }

  root.addEventListener("dragstart", function (event) {
    if (event.target.closest && event.target.closest(".cal-block")) event.preventDefault();
  });

  root.addEventListener("pointerdown", function (event) {
    if (!canManage || drag || event.button > 0) return;
    var block = event.target.closest(".cal-block[data-movable]");
    if (!block) return;
    var col = block.closest("[data-col]");
    var time = block.querySelector(".cal-time");
    drag = {
      block: block,
      col: col,
      origin: col,
      pointerId: event.pointerId,
      startX: event.clientX,
      startY: event.clientY,
      grab: event.clientY - block.getBoundingClientRect().top,
      length: Number(block.dataset.length) || 0,
      style: block.getAttribute("style"),
      time: time,
      timeText: time ? time.textContent : null,
      minutes: null,
      moved: false,
    };
    block.setPointerCapture(event.pointerId);
  });

  root.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    var dx = event.clientX - drag.startX;
    var dy = event.clientY - drag.startY;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < DRAG_AFTER_PX) return;
    event.preventDefault();
    if (!drag.moved) {
      drag.moved = true;
      drag.block.classList.add("cal-dragging");
    }
    var col = columnUnder(event.clientX) || drag.col;
    if (col !== drag.col) {
      col.appendChild(drag.block);
      drag.col = col;
    }
    var offset = (event.clientY - col.getBoundingClientRect().top - drag.grab) / pixelsPerMinute(col);
    var last = Math.max(0, Number(col.dataset.minutes) - Math.min(drag.length, SNAP));
    drag.minutes = Math.min(Math.max(0, Math.round(offset / SNAP) * SNAP), last);
    drag.block.style.top = at(drag.minutes);
    drag.block.style.left = "0%";
    drag.block.style.width = "100%";
    if (drag.time) drag.time.textContent = timeLabel(startOf(drag));
  });

  function finish(event, cancelled) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    var state = drag;
    drag = null;
    if (!state.moved) return; // a click: the link opens the appointment's page
    swallowClick = true;
    setTimeout(function () {
      swallowClick = false;
    }, 0);
    state.block.classList.remove("cal-dragging");
    var start = startOf(state);
    if (cancelled || state.minutes === null || (state.col === state.origin && start.getTime() === Number(state.block.dataset.start))) {
      putBack(state);
      return;
    }
    save(state, start, false);
  }

  root.addEventListener("pointerup", function (event) {
    finish(event, false);
  });
  root.addEventListener("pointercancel", function (event) {
    finish(event, true);
  });

  function moveBody(state, start, allowOutsideHours) {
    var body = new URLSearchParams();
    body.set("starts_at", start.toISOString());
    var to = state.col.dataset;
    var from = state.origin.dataset;
    if (to.practitioner && to.practitioner !== from.practitioner) body.set("practitioner", to.practitioner);
    if (to.room && to.room !== from.room) body.set("room", to.room);
    if (allowOutsideHours) body.set("allow_outside_hours", "1");
    return body;
  }

  function save(state, start, allowOutsideHours) {
    state.block.classList.add("cal-saving");
    var url = root.dataset.moveUrl.replace("/0/", "/" + state.block.dataset.id + "/");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": csrfInput ? csrfInput.value : "",
        Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: moveBody(state, start, allowOutsideHours).toString(),
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, data: data };
          });
      })
      .then(function (answer) {
        var data = answer.data;
        if (answer.status === 200) {
          say(data.message, true);
          return refresh();
        }
        var ask = answer.status === 400 && data.code === "outside_hours" && data.can_confirm;
        if (ask && !allowOutsideHours && window.confirm(data.error)) {
          return save(state, start, true);
        }
        // Refused (409: someone is booked there): back where it was, and say why.
        putBack(state);
        say(data.error || "The appointment could not be moved (" + answer.status + ").", false);
      })
      .catch(function () {
        putBack(state);
        say("The appointment could not be moved: the server did not answer. Try again.", false);
      });
  }

  // --- re-render after a move ---------------------------------------------------------------

  function refresh() {
    var grid = root.querySelector("[data-cal-grid]");
    var url = new URL(location.href);
    url.searchParams.set("fragment", "1");
    return fetch(url.toString(), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("refresh failed: " + response.status);
        return response.text();
      })
      .then(function (html) {
        var scrollLeft = grid.scrollLeft;
        var holder = document.createElement("div");
        holder.innerHTML = html; // rendered and escaped by Django's templates
        var fresh = holder.querySelector("[data-cal-grid]");
        grid.replaceWith(fresh);
        fresh.scrollLeft = scrollLeft;
        placeNowLines();
        root.dispatchEvent(new CustomEvent("calendar:refreshed", { bubbles: true }));
      })
      .catch(function () {
        location.reload();
      });
  }

  // --- the toolbar's date picker ------------------------------------------------------------

  Array.prototype.forEach.call(root.querySelectorAll("form[data-autosubmit]"), function (form) {
    form.addEventListener("change", function () {
      var date = form.querySelector("input[type=date]");
      if (!date || date.value) form.submit();
    });
  });

  placeNowLines();
  setInterval(placeNowLines, 30000);
})();
