// Sessions panel and session page: live through the board socket (`session.*` events),
// with the REST API as the source of the screen and as a fallback when the socket is down.
(function () {
  "use strict";

  const page = document.getElementById("sessions-page");
  if (!page) return;
  const canManage = page.dataset.canManage === "1";
  const SCREEN_POLL_MS = 700;
  const LIST_POLL_MS = 5000;
  const status = document.getElementById("live-status");
  let socketLive = false;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function api(path, options) {
    const init = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    init.headers = Object.assign({ Accept: "application/json" }, init.headers);
    if (init.body) {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRFToken"] = csrfToken();
    }
    return fetch(path, init).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.detail || JSON.stringify(data));
        return data;
      });
    });
  }

  function setStatus(state, text) {
    socketLive = state === "live";
    if (status) {
      status.dataset.state = state;
      status.textContent = text;
    }
  }

  function connectLive(handlers) {
    if (!window.ArchitectLive) return setStatus("polling", "Polling");
    window.ArchitectLive.connect({
      lastId: Number(page.dataset.lastEventId || 0),
      handlers: handlers,
      onState: setStatus,
    });
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- The panel ---------------------------------------------------------------------------

  function renderRow(s) {
    const row = el("tr", { "data-session": s.id, "data-state": s.state });
    const nameCell = el("td");
    nameCell.appendChild(el("a", { href: "/sessions/" + s.id + "/" }, s.name));
    row.appendChild(nameCell);
    row.appendChild(el("td", {}, s.profile_name || s.profile));
    const stateCell = el("td", { class: "state" });
    stateCell.appendChild(el("span", { class: "badge state-" + s.state }, s.state));
    row.appendChild(stateCell);
    row.appendChild(el("td", { class: "task" }, s.task ? "#" + s.task + " " + (s.task_title || "") : ""));
    const lines = el("td", { class: "lines" });
    lines.appendChild(el("pre", {}, (s.last_lines || []).join("\n")));
    if (s.alert) {
      const alert = el("div", { class: "alert-text" }, "Waiting for a person: ");
      alert.appendChild(el("pre", {}, s.alert));
      lines.appendChild(alert);
    }
    row.appendChild(lines);
    const when = s.last_activity_at ? new Date(s.last_activity_at).toLocaleTimeString() : "";
    row.appendChild(el("td", { class: "activity" }, when));
    return row;
  }

  function upsertRow(s) {
    const body = document.getElementById("session-rows");
    const existing = body.querySelector('tr[data-session="' + s.id + '"]');
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    if (s.state === "stopped") {
      if (existing) existing.remove();
    } else if (existing) {
      existing.replaceWith(renderRow(s));
    } else {
      body.appendChild(renderRow(s));
    }
    renderAlerts();
  }

  function renderAlerts() {
    const box = document.getElementById("alerts");
    box.textContent = "";
    document.querySelectorAll('#session-rows tr[data-state="waiting_confirmation"]').forEach(function (row) {
      const link = row.querySelector("a");
      const note = el("div", { class: "alert-text", role: "alert" }, "Needs a person: ");
      note.appendChild(el("a", { href: link.getAttribute("href") }, link.textContent));
      box.appendChild(note);
    });
  }

  function refreshList() {
    return api("/api/sessions/?page_size=200&ordering=id&state__in=starting,idle,busy,waiting_confirmation,error").then(function (data) {
      const rows = data.results || data;
      const seen = new Set(rows.map(function (s) { return String(s.id); }));
      rows.forEach(upsertRow);
      document.querySelectorAll("#session-rows tr[data-session]").forEach(function (row) {
        if (!seen.has(row.dataset.session)) row.remove();
      });
    });
  }

  function fromEvent(message) {
    const p = message.payload || {};
    // Events carry the session's snapshot; a full refresh fills in the task title.
    upsertRow({
      id: p.id, name: p.name, profile_name: p.profile, state: p.state, task: p.task, alert: p.alert,
      last_lines: p.last_lines, last_activity_at: p.last_activity_at,
    });
  }

  function startPanel() {
    renderAlerts();
    connectLive({ "session.*": fromEvent });
    window.setInterval(function () {
      refreshList().catch(function () {});
    }, LIST_POLL_MS);
  }

  // --- One session ---------------------------------------------------------------------------

  function startDetail() {
    const id = page.dataset.session;
    const screen = document.getElementById("screen");
    const stateBadge = document.getElementById("session-state");
    const alertBox = document.getElementById("session-alert");

    function showState(state, alert) {
      stateBadge.textContent = state;
      stateBadge.className = "badge state-" + state;
      alertBox.hidden = !alert;
      if (alert) alertBox.querySelector("pre").textContent = alert;
    }

    function pollScreen() {
      api("/api/sessions/" + id + "/screen/")
        .then(function (data) {
          screen.textContent = data.lines.join("\n");
          if (!socketLive) stateBadge.textContent = data.state;
        })
        .catch(function () {})
        .finally(function () {
          window.setTimeout(pollScreen, SCREEN_POLL_MS);
        });
    }

    connectLive({
      "session.*": function (message) {
        if (String(message.payload && message.payload.id) === id) showState(message.payload.state, message.payload.alert);
      },
    });
    pollScreen();
    if (canManage) wireControls(id);
  }

  function wireControls(id) {
    const form = document.getElementById("send-keys");
    const input = document.getElementById("send-text");
    const result = document.getElementById("send-result");

    function post(path, body) {
      result.textContent = "…";
      return api("/api/sessions/" + id + "/" + path + "/", { method: "POST", body: JSON.stringify(body) })
        .then(function () { result.textContent = "sent"; })
        .catch(function (error) { result.textContent = error.message; });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      post("send-keys", { text: input.value, enter: true }).then(function () { input.value = ""; });
    });
    form.querySelectorAll("button[data-keys]").forEach(function (button) {
      button.addEventListener("click", function () {
        post("send-keys", { keys: [button.dataset.keys] });
      });
    });
    form.querySelectorAll("button[data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        post(button.dataset.action, {});
      });
    });
  }

  if (page.dataset.page === "panel") startPanel();
  else startDetail();
})();
