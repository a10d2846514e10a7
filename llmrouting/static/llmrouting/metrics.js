// /llm-metrics/: draws /api/llm/metrics/ with hand-made SVG charts (no CDN, no library) and
// refreshes when the board's websocket (/ws/board/) carries an `llm.call` event. When the
// socket is unavailable it polls the API every POLL_MS instead, and says so in the header.
(function () {
  "use strict";
  const root = document.getElementById("llm-metrics");
  if (!root) return;
  const API = root.dataset.api;
  const SOCKET_PATH = root.dataset.socket;
  const POLL_MS = 10000;
  const COLORS = ["#2f6fed", "#e8590c", "#2b8a3e", "#ae3ec9", "#f59f00", "#0c8599", "#c2255c", "#5c940d", "#868e96"];
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let refreshTimer = null;
  let pollTimer = null;
  let lastEventId = 0;
  window.llmMetrics = { refreshes: 0, data: null };

  const money = (v) => "$" + (v === 0 ? "0" : v >= 100 ? v.toFixed(0) : v >= 0.01 ? v.toFixed(2) : v.toPrecision(2));
  const pct = (v) => (v * 100).toFixed(1) + " %";
  const ms = (v) => (v === null || v === undefined ? "–" : v.toFixed(0) + " ms");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  function simTag(item) {
    return item.simulated ? " (simulated)" : "";
  }

  function renderKpis(data) {
    const t = data.totals;
    const items = [
      ["Spend", money(t.cost)], ["Calls", t.calls], ["Requests", t.requests],
      ["Error rate", pct(t.error_rate)], ["Failover rate", pct(t.failover_rate)],
      ["Latency p50", ms(data.latency_ms.p50)], ["Latency p95", ms(data.latency_ms.p95)],
      ["Tokens", (t.prompt_tokens + t.completion_tokens).toLocaleString()],
    ];
    const box = $("lm-kpis");
    box.replaceChildren(...items.map(([k, v]) => {
      const card = el("div", { class: "lm-kpi", "data-kpi": k });
      card.append(el("div", { class: "v" }, String(v)), el("div", { class: "k" }, k));
      return card;
    }));
    $("lm-simulated").hidden = !t.simulated_calls;
  }

  // Stacked bars: one column per day, one colour per provider.
  function renderSpendChart(rows) {
    const box = $("lm-spend-chart");
    if (!rows.length) { box.replaceChildren(el("p", { class: "lm-empty" }, "No calls in this period.")); return; }
    const days = [...new Set(rows.map((r) => r.day))].sort();
    const providers = [...new Set(rows.map((r) => r.provider))].sort();
    const byDay = {};
    rows.forEach((r) => { (byDay[r.day] = byDay[r.day] || {})[r.provider] = r.cost; });
    const totals = days.map((d) => Object.values(byDay[d]).reduce((a, b) => a + b, 0));
    const max = Math.max(...totals, 1e-9);
    const W = 760, H = 220, L = 56, B = 24, T = 8;
    const colW = (W - L) / days.length;
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Spend per day by provider" });
    for (let i = 0; i <= 4; i++) {
      const y = T + (H - B - T) * (1 - i / 4);
      chart.append(svg("line", { x1: L, x2: W, y1: y, y2: y, stroke: "#e5e7eb" }));
      const label = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end", "font-size": 10, fill: "#6b7280" });
      label.textContent = money(max * i / 4);
      chart.append(label);
    }
    days.forEach((day, i) => {
      let y = H - B;
      providers.forEach((p, j) => {
        const v = (byDay[day] || {})[p] || 0;
        const h = (H - B - T) * v / max;
        if (h > 0) {
          const rect = svg("rect", { x: L + i * colW + colW * 0.15, y: y - h, width: colW * 0.7, height: h, fill: COLORS[j % COLORS.length], "data-day": day, "data-provider": p });
          const tip = svg("title", {}); tip.textContent = `${day} ${p}: ${money(v)}`; rect.append(tip);
          chart.append(rect);
          y -= h;
        }
      });
      if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) {
        const label = svg("text", { x: L + i * colW + colW / 2, y: H - 8, "text-anchor": "middle", "font-size": 10, fill: "#6b7280" });
        label.textContent = day.slice(5);
        chart.append(label);
      }
    });
    const legend = el("div", { class: "lm-legend" });
    providers.forEach((p, j) => {
      const item = el("span"); item.append(el("i", { style: `background:${COLORS[j % COLORS.length]}` }), document.createTextNode(p));
      legend.append(item);
    });
    box.replaceChildren(chart, legend);
  }

  // Horizontal bars for spend by model / provider / project.
  function renderBars(id, items) {
    const box = $(id);
    if (!items.length) { box.replaceChildren(el("p", { class: "lm-empty" }, "No calls yet.")); return; }
    const top = items.slice(0, 8);
    const max = Math.max(...top.map((i) => i.cost), 1e-9);
    const W = 360, row = 22;
    const chart = svg("svg", { viewBox: `0 0 ${W} ${top.length * row}`, role: "img" });
    top.forEach((item, i) => {
      const w = Math.max(1, (W - 200) * item.cost / max);
      chart.append(svg("rect", { x: 110, y: i * row + 4, width: w, height: row - 8, fill: item.simulated ? "#f59f00" : COLORS[0], rx: 2 }));
      const name = svg("text", { x: 104, y: i * row + 15, "text-anchor": "end", "font-size": 10 });
      name.textContent = (item.name.length > 18 ? item.name.slice(0, 17) + "…" : item.name) + (item.simulated ? "*" : "");
      const tip = svg("title", {}); tip.textContent = `${item.name}${simTag(item)}: ${money(item.cost)}, ${item.calls} calls, ${item.errors} errors`;
      name.append(tip);
      const value = svg("text", { x: 114 + w, y: i * row + 15, "font-size": 10, fill: "#6b7280" });
      value.textContent = `${money(item.cost)} · ${item.calls} calls`;
      chart.append(name, value);
    });
    const note = top.some((i) => i.simulated) ? el("p", { class: "lm-empty" }, "* simulated (demo provider)") : "";
    box.replaceChildren(chart, note);
  }

  function table(headers, rows) {
    const t = el("table", { class: "lm-table" });
    const head = el("tr"); headers.forEach((h) => head.append(el("th", {}, h)));
    t.append(head);
    rows.forEach((cells) => {
      const tr = el("tr");
      cells.forEach((c) => {
        const td = el("td", c.cls ? { class: c.cls } : {}, c.text !== undefined ? String(c.text) : String(c));
        if (c.tag) td.append(" ", el("span", { class: "lm-tag" }, c.tag));
        tr.append(td);
      });
      t.append(tr);
    });
    return t;
  }

  function renderBudgets(items) {
    const box = $("lm-budgets");
    if (!items.length) { box.replaceChildren(el("p", { class: "lm-empty" }, "No budgets set.")); return; }
    const W = 360, row = 30;
    const chart = svg("svg", { viewBox: `0 0 ${W} ${items.length * row}`, role: "img" });
    items.forEach((b, i) => {
      const share = Math.min(1, b.share);
      const colour = b.exhausted ? "#b42318" : b.warning ? "#f59f00" : "#2b8a3e";
      const label = svg("text", { x: 0, y: i * row + 11, "font-size": 10 });
      label.textContent = `${b.scope} (${b.period}): ${money(b.spent)} of ${money(b.limit)}`;
      chart.append(label, svg("rect", { x: 0, y: i * row + 15, width: W, height: 8, fill: "#e5e7eb", rx: 3 }),
        svg("rect", { x: 0, y: i * row + 15, width: W * share, height: 8, fill: colour, rx: 3, "data-budget": b.id }));
    });
    box.replaceChildren(chart);
  }

  function renderBreakers(items) {
    $("lm-breakers").replaceChildren(items.length ? table(["Deployment", "Tier", "State", "Failures"], items.map((b) => [
      { text: b.model, tag: b.simulated ? "simulated" : "" }, b.tier,
      { text: b.state.replace("_", "-"), cls: "state-" + b.state }, { text: b.failures, cls: "n" },
    ])) : el("p", { class: "lm-empty" }, "No enabled deployments."));
  }

  function renderRecent(items) {
    $("lm-recent").replaceChildren(items.length ? table(["Time", "Model", "Provider", "Outcome", "Attempt", "Cost", "Latency"], items.map((c) => [
      new Date(c.time).toLocaleTimeString(), { text: c.model, tag: c.simulated ? "simulated" : "" }, c.provider,
      { text: c.outcome + (c.fallback ? " (fallback)" : ""), cls: "outcome-" + c.outcome }, { text: c.attempt, cls: "n" },
      { text: money(c.cost), cls: "n" }, { text: ms(c.latency_ms), cls: "n" },
    ])) : el("p", { class: "lm-empty" }, "No calls yet."));
  }

  async function refresh() {
    const days = $("lm-days").value;
    const response = await fetch(`${API}?days=${days}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    window.llmMetrics.data = data;
    window.llmMetrics.refreshes += 1;
    renderKpis(data);
    renderSpendChart(data.spend_by_day);
    renderBars("lm-by-model", data.by_model);
    renderBars("lm-by-provider", data.by_provider);
    renderBars("lm-by-project", data.by_project);
    renderBars("lm-by-task", data.by_task);
    renderBudgets(data.budgets);
    renderBreakers(data.breakers);
    renderRecent(data.recent);
    root.dataset.lastCall = data.last_call_id || "";
  }

  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 250);  // a burst of fallbacks is one redraw
  }

  function setLive(mode, text) {
    const badge = $("lm-live");
    badge.className = "lm-live " + mode;
    badge.textContent = text;
    root.dataset.live = mode;
  }

  function startPolling() {
    if (pollTimer) return;
    setLive("polling", `polling every ${POLL_MS / 1000} s`);
    pollTimer = setInterval(refresh, POLL_MS);
  }

  function connect(delay) {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let socket;
    try { socket = new WebSocket(scheme + location.host + SOCKET_PATH); } catch (e) { startPolling(); return; }
    socket.onopen = () => {
      clearInterval(pollTimer); pollTimer = null;
      setLive("live", "live");
      if (lastEventId) socket.send(JSON.stringify({ resume_after: lastEventId }));
    };
    socket.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event.id) lastEventId = Math.max(lastEventId, event.id);
      if (typeof event.type === "string" && event.type.startsWith("llm.")) refreshSoon();
    };
    socket.onclose = () => {
      startPolling();
      setTimeout(() => connect(Math.min((delay || 1000) * 2, 30000)), delay || 1000);
    };
  }

  $("lm-days").addEventListener("change", refresh);
  refresh();
  connect(1000);
})();
