// The /board/ page: task cards in status columns, kept current by ArchitectLive.
(function () {
  "use strict";

  const state = JSON.parse(document.getElementById("board-state").textContent);
  const boardEl = document.getElementById("board");
  const projectFilter = document.getElementById("filter-project");
  const executorFilter = document.getElementById("filter-executor");
  const statusEl = document.getElementById("live-status");
  const noticeEl = document.getElementById("board-notice");
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  const projects = new Map(Object.entries(state.projects).map(([id, name]) => [Number(id), name]));
  const executorLabels = new Map(state.executors.map((e) => [e.value, e.label]));
  const jumpEl = document.getElementById("status-jump");
  const columns = new Map(); // status -> {el, list, count, chip}
  const cards = new Map(); // task id -> {el, task, eventId}

  const FINISHED = new Set(["done", "failed", "cancelled"]);
  // The task actions of the API, offered where the task's status allows them.
  const ACTIONS = [
    { name: "queue", label: "Queue", when: new Set(["backlog", "blocked"]) },
    { name: "retry", label: "Retry", when: new Set(["failed", "cancelled"]) },
    { name: "cancel", label: "Cancel", when: new Set(["backlog", "ready", "claimed", "running", "review", "blocked"]) },
  ];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- columns and filters ---------------------------------------------------------

  function buildColumns() {
    for (const status of state.statuses) {
      const column = el("section", "column");
      column.dataset.status = status.value;
      const header = el("header", "column-head");
      header.append(el("h2", null, status.label), el("span", "count", "0"));
      const list = el("div", "cards");
      column.append(header, list);
      boardEl.append(column);
      const chip = jumpChip(status, column);
      columns.set(status.value, { el: column, list: list, count: header.querySelector(".count"), chip: chip });
    }
  }

  // On a phone one column fills the screen: chips with counts jump between them.
  function jumpChip(status, column) {
    const chip = el("button", "jump", status.label + " ");
    chip.type = "button";
    const count = el("span", "count", "0");
    chip.append(count);
    chip.addEventListener("click", () => column.scrollIntoView({ behavior: "smooth", block: "nearest", inline: "start" }));
    jumpEl.append(chip);
    return count;
  }

  function option(value, label) {
    const node = el("option", null, label);
    node.value = String(value);
    return node;
  }

  function fillFilters() {
    const params = new URLSearchParams(window.location.search);
    refreshProjectOptions();
    for (const [value, label] of executorLabels) executorFilter.append(option(value, label));
    projectFilter.value = params.get("project") || "";
    executorFilter.value = params.get("executor") || "";
    for (const select of [projectFilter, executorFilter]) select.addEventListener("change", filtersChanged);
  }

  function refreshProjectOptions() {
    const chosen = projectFilter.value;
    projectFilter.replaceChildren(option("", "All projects"));
    const sorted = [...projects].sort((a, b) => a[1].localeCompare(b[1]));
    for (const [id, name] of sorted) projectFilter.append(option(id, name));
    projectFilter.value = chosen;
  }

  function filtersChanged() {
    const params = new URLSearchParams(window.location.search);
    for (const [key, select] of [["project", projectFilter], ["executor", executorFilter]]) {
      if (select.value) params.set(key, select.value);
      else params.delete(key);
    }
    const query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
    for (const card of cards.values()) applyFilter(card);
    updateCounts();
  }

  function applyFilter(card) {
    const project = projectFilter.value;
    const executor = executorFilter.value;
    card.el.hidden =
      (project !== "" && String(card.task.project) !== project) || (executor !== "" && card.task.executor !== executor);
  }

  function updateCounts() {
    for (const column of columns.values()) {
      const shown = String(column.list.querySelectorAll(".card:not([hidden])").length);
      column.count.textContent = shown;
      column.chip.textContent = shown;
    }
  }

  // --- cards -----------------------------------------------------------------------

  function money(cost) {
    const value = Number(cost || 0);
    if (value === 0) return "$0";
    return "$" + (value >= 1 ? value.toFixed(2) : value.toFixed(4));
  }

  function renderCard(node, task) {
    node.replaceChildren();
    node.dataset.taskId = String(task.id);
    node.dataset.status = task.status;
    node.dataset.priority = String(task.priority);
    const head = el("header", "card-head");
    const priority = el("span", "priority", "P" + task.priority);
    priority.title = "Priority " + task.priority + " of 10";
    if (task.priority >= 8) priority.classList.add("urgent");
    head.append(priority, el("span", "title", task.title));
    node.append(head);

    const meta = el("div", "meta");
    meta.append(
      el("span", "project", projects.get(task.project) || "Project " + task.project),
      el("span", "executor", executorLabels.get(task.executor) || task.executor)
    );
    node.append(meta);

    const facts = el("div", "facts");
    const who = task.session || task.claimed_by || task.assignee || "";
    const whoEl = el("span", "who", who || "unassigned");
    whoEl.title = task.session ? "Session" : task.claimed_by ? "Runner" : "Assignee";
    if (!who) whoEl.classList.add("muted");
    const attempts = el("span", "attempts", task.attempts + "/" + task.max_attempts);
    attempts.title = "Attempts used of the maximum";
    const cost = el("span", "cost", money(task.cost));
    cost.title = "Cost so far";
    facts.append(whoEl, attempts, cost);
    node.append(facts);

    if (task.last_error && (task.status === "failed" || task.status === "ready")) {
      const error = el("p", "last-error", task.last_error.split("\n").slice(-1)[0]);
      error.title = task.last_error;
      node.append(error);
    }
    if (state.can_manage) node.append(actionButtons(task));
  }

  function actionButtons(task) {
    const bar = el("div", "actions");
    for (const action of ACTIONS) {
      if (!action.when.has(task.status)) continue;
      const button = el("button", "action action-" + action.name, action.label);
      button.type = "button";
      button.dataset.action = action.name;
      bar.append(button);
    }
    return bar;
  }

  // Cards sort like the queue: higher priority first, then older (smaller id) first.
  function comesBefore(a, b) {
    return a.priority !== b.priority ? a.priority > b.priority : a.id < b.id;
  }

  function place(card) {
    const column = columns.get(card.task.status);
    if (!column) return;
    let before = null;
    for (const sibling of column.list.children) {
      const other = cards.get(Number(sibling.dataset.taskId));
      if (other && other !== card && comesBefore(card.task, other.task)) {
        before = sibling;
        break;
      }
    }
    if (before !== card.el) column.list.insertBefore(card.el, before);
  }

  function upsert(task, eventId) {
    let card = cards.get(task.id);
    if (card && eventId < card.eventId) return; // an older snapshot arriving late
    const moved = !card || card.task.status !== task.status;
    if (!card) {
      card = { el: el("article", "card"), task: task, eventId: eventId };
      cards.set(task.id, card);
    }
    card.task = task;
    card.eventId = eventId;
    renderCard(card.el, task);
    applyFilter(card);
    place(card);
    if (eventId) flash(card.el, moved ? "moved" : "changed");
    updateCounts();
  }

  function remove(taskId) {
    const card = cards.get(taskId);
    if (!card) return;
    cards.delete(taskId);
    card.el.remove();
    updateCounts();
  }

  function flash(node, kind) {
    node.classList.remove("flash-moved", "flash-changed");
    void node.offsetWidth; // restart the animation
    node.classList.add("flash-" + kind);
  }

  // --- actions ---------------------------------------------------------------------

  async function runAction(button) {
    const card = button.closest(".card");
    const taskId = card.dataset.taskId;
    button.disabled = true;
    try {
      const response = await fetch("/api/tasks/" + taskId + "/" + button.dataset.action + "/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json", "Content-Type": "application/json" },
        body: "{}",
      });
      if (!response.ok) notify(await errorText(response));
      // Success needs nothing here: the change arrives as an event, like anyone else's.
    } catch (error) {
      notify("Could not reach the server: " + error.message);
    } finally {
      button.disabled = false;
    }
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      return body.detail || JSON.stringify(body);
    } catch (error) {
      return "The server answered " + response.status + ".";
    }
  }

  let noticeTimer = null;
  function notify(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = false;
    window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(() => (noticeEl.hidden = true), 6000);
  }

  boardEl.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) runAction(button);
  });

  // --- live events -----------------------------------------------------------------

  function isSnapshot(payload) {
    return payload && typeof payload.id === "number" && typeof payload.status === "string" && "title" in payload;
  }

  function onTaskEvent(message) {
    if (message.type === "task.deleted") return remove(Number(message.object_id));
    if (isSnapshot(message.payload)) upsert(message.payload, message.id);
  }

  function onProjectEvent(message) {
    const id = Number(message.object_id);
    if (message.type === "project.deleted") {
      projects.delete(id);
      for (const [taskId, card] of cards) if (card.task.project === id) remove(taskId);
    } else if (message.payload && message.payload.name) projects.set(id, message.payload.name);
    else return;
    refreshProjectOptions();
    for (const card of cards.values()) {
      if (card.task.project === id) renderCard(card.el, card.task);
    }
  }

  function showState(stateName, text) {
    statusEl.dataset.state = stateName;
    statusEl.querySelector(".text").textContent = text;
  }

  buildColumns();
  fillFilters();
  for (const task of state.tasks) upsert(task, 0);
  window.ArchitectBoard = { cards: cards };
  window.ArchitectLive.connect({
    lastId: state.last_event_id,
    handlers: { "task.*": onTaskEvent, "project.*": onProjectEvent },
    onState: showState,
  });
})();
