// Autopilot and review pages: buttons call the API; the page content refreshes on live events.
(function () {
  "use strict";

  const root = document.getElementById("live-root");
  const toast = document.getElementById("ap-toast");
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  let refreshTimer = null;

  function show(message) {
    toast.textContent = message;
    toast.hidden = !message;
  }

  function describe(body) {
    if (!body) return "Request failed.";
    if (typeof body.detail === "string") return body.detail;
    return Object.entries(body).map(([field, value]) => field + ": " + [].concat(value).join(" ")).join("; ");
  }

  async function call(method, url, data) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(data || {}),
    });
    let body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    if (!response.ok) throw new Error(describe(body));
    return body;
  }

  function busy() {
    // Never replace the page under someone typing a comment.
    const active = document.activeElement;
    if (active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT")) return true;
    return Array.from(root.querySelectorAll("textarea")).some((area) => area.value.trim() !== "");
  }

  async function refresh() {
    refreshTimer = null;
    if (busy()) { refreshTimer = setTimeout(refresh, 2000); return; }
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.getElementById("live-root");
    if (fresh) root.innerHTML = fresh.innerHTML;
  }

  function soon() {
    if (!refreshTimer) refreshTimer = setTimeout(refresh, 500);
  }

  async function act(method, url, data, confirmText) {
    if (confirmText && !window.confirm(confirmText)) return;
    show("");
    try {
      await call(method, url, data);
      await refresh();
    } catch (error) {
      show(error.message);
    }
  }

  root.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action='post']");
    if (!button) return;
    event.preventDefault();
    act("POST", button.dataset.url, {}, button.dataset.confirm);
  });

  root.addEventListener("submit", function (event) {
    const form = event.target;
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    if (form.dataset.action === "start") {
      const data = { goal: Number(form.dataset.goal), parallelism: Number(values.parallelism || 2) };
      data.budget_cap = values.budget_cap === "" ? null : values.budget_cap;
      act("POST", form.dataset.url, data);
    } else if (form.dataset.action === "patch") {
      act("PATCH", form.dataset.url, { budget_cap: values.budget_cap === "" ? null : values.budget_cap });
    } else if (form.dataset.action === "decide") {
      const verb = (event.submitter && event.submitter.value) || "approve";
      const textarea = form.querySelector("textarea");
      const comment = values.comment || "";
      if (textarea) textarea.value = "";
      act("POST", form.dataset.base + verb + "/", { comment: comment }).then(function () {
        if (textarea && !toast.hidden) textarea.value = comment;  // keep the comment when it failed
      });
    }
  });

  if (window.ArchitectLive) {
    window.ArchitectLive.connect({
      lastId: Number(root.dataset.lastEvent || 0),
      // Task moves, not their log lines and progress ticks (those arrive every second while work runs).
      handlers: {
        "autopilot.*": soon, "review.*": soon, "task.moved": soon, "task.created": soon, "task.updated": soon,
        "goal.*": soon, "milestone.*": soon,
      },
    });
  }
})();
