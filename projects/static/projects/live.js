// The live feed client for /ws/board/, shared by every page that shows live data.
//
//   ArchitectLive.connect({
//     lastId: 123,                          // the outbox position the page was rendered at
//     handlers: {"task.moved": fn, "llm.*": fn},  // by exact type, then "prefix.*", then "*"
//     onState: (state, text) => {},         // connecting | syncing | live | reconnecting | forbidden
//   });
//
// It resumes after the last event id it saw on every (re)connect, reconnects with
// backoff, reloads the page on "resync", goes to the login page on close 4401, and
// ignores message types nobody handles.
(function () {
  "use strict";

  const CLOSE_UNAUTHENTICATED = 4401;
  const CLOSE_FORBIDDEN = 4403;
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 15000;

  function handlerFor(handlers, type) {
    if (handlers[type]) return handlers[type];
    const dot = type.indexOf(".");
    if (dot > 0 && handlers[type.slice(0, dot) + ".*"]) return handlers[type.slice(0, dot) + ".*"];
    return handlers["*"] || null;
  }

  function socketUrl(path) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + path;
  }

  function loginUrl() {
    return "/login/?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  function connect(options) {
    const handlers = options.handlers || {};
    const onState = options.onState || function () {};
    const path = options.path || "/ws/board/";
    let lastId = options.lastId || 0;
    let failures = 0;
    let socket = null;
    let retryTimer = null;
    let stopped = false;

    function open() {
      retryTimer = null;
      onState(failures ? "reconnecting" : "connecting", failures ? "Reconnecting…" : "Connecting…");
      socket = new WebSocket(socketUrl(path));
      socket.onopen = function () {
        onState("syncing", "Syncing…");
        socket.send(JSON.stringify({ resume_after: lastId }));
      };
      socket.onmessage = function (event) {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        receive(message);
      };
      socket.onclose = function (event) {
        socket = null;
        closed(event.code);
      };
    }

    function receive(message) {
      if (!message || typeof message.type !== "string") return;
      if (message.type === "resumed") {
        failures = 0;
        onState("live", "Live");
        return;
      }
      if (message.type === "resync") {
        // Our resume point was pruned: only a fresh page load is complete again.
        stopped = true;
        window.location.reload();
        return;
      }
      if (typeof message.id === "number" && message.id > lastId) lastId = message.id;
      const handler = handlerFor(handlers, message.type);
      if (!handler) return;
      try {
        handler(message);
      } catch (error) {
        console.error("Live handler for", message.type, "failed:", error);
      }
    }

    function closed(code) {
      if (stopped) return;
      if (code === CLOSE_UNAUTHENTICATED) {
        stopped = true;
        onState("reconnecting", "Session ended");
        window.location.assign(loginUrl());
        return;
      }
      if (code === CLOSE_FORBIDDEN) {
        stopped = true;
        onState("forbidden", "No access");
        return;
      }
      scheduleRetry();
    }

    function scheduleRetry() {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, failures));
      const delay = Math.round(base * (0.5 + Math.random() * 0.5));
      failures += 1;
      onState("reconnecting", "Reconnecting in " + Math.max(1, Math.round(delay / 1000)) + " s");
      retryTimer = window.setTimeout(open, delay);
    }

    function retryNow() {
      if (stopped || socket || !retryTimer) return;
      window.clearTimeout(retryTimer);
      open();
    }

    // Back online or back to the tab: don't sit out the rest of a long backoff.
    window.addEventListener("online", retryNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") retryNow();
    });

    open();
    return {
      lastId: function () {
        return lastId;
      },
      close: function () {
        stopped = true;
        if (retryTimer) window.clearTimeout(retryTimer);
        if (socket) socket.close();
      },
    };
  }

  window.ArchitectLive = { connect: connect, handlerFor: handlerFor };
})();
