/**
 * The operator console: one live overview, pushed by the gateway as
 * server-sent events over fetch (so the key travels in an Authorization
 * header, never in a URL), and three confirmed actions: end an interview,
 * drain a replica, resume it.
 *
 * The key comes from a sign-in form or from the dev URL `/ops#key=…`; it is
 * kept in sessionStorage (this tab only) and the fragment is stripped.
 */

const KEY_STORE = "zenhire.operatorKey";
const API = "/ops/api/v1";
const RETRY_MS = 1000;
const STALE_AFTER_MS = 5000;
const TOAST_MS = 6000;

const $ = (id) => document.getElementById(id);

let key = null;
let stream = null;
let lastData = 0;

function takeKeyFromFragment() {
  const match = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(KEY_STORE, decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname);
  }
  return sessionStorage.getItem(KEY_STORE);
}

function setConnection(state, text) {
  document.body.dataset.connection = state;
  $("conn").textContent = text;
}

function showLogin(error) {
  stopStream();
  key = null;
  sessionStorage.removeItem(KEY_STORE);
  $("console").hidden = true;
  $("who").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !error;
  $("login-error").textContent = error || "";
  setConnection("signed-out", "Signed out");
  $("login-key").focus();
}

function start(found) {
  key = found;
  $("login").hidden = true;
  $("console").hidden = false;
  $("sign-out").hidden = false;
  openStream();
}

/* -- the stream ------------------------------------------------------------ */

function stopStream() {
  if (stream) stream.abort();
  stream = null;
}

async function openStream() {
  stopStream();
  const controller = new AbortController();
  stream = controller;
  setConnection("connecting", "Connecting…");
  try {
    const response = await fetch(`${API}/stream`, {
      headers: { Authorization: `Bearer ${key}`, Accept: "text/event-stream" },
      cache: "no-store",
      signal: controller.signal,
    });
    if (response.status === 401) {
      showLogin("That key was not accepted.");
      return;
    }
    if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
    setConnection("live", "Live");
    await readEvents(response.body, controller);
  } catch (error) {
    if (controller.signal.aborted) return;
  }
  if (stream === controller) {
    setConnection("reconnecting", "Reconnecting…");
    setTimeout(() => stream === controller && openStream(), RETRY_MS);
  }
}

async function readEvents(body, controller) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (!controller.signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data) render(JSON.parse(data));
    }
  }
}

setInterval(() => {
  if (document.body.dataset.connection === "live" && Date.now() - lastData > STALE_AFTER_MS) {
    setConnection("stale", "No update for a while…");
  }
}, 1000);

/* -- rendering ------------------------------------------------------------- */

const DASH = "—";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

function timeOfDay(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? DASH : date.toLocaleTimeString([], { hour12: false });
}

function number(value, unit, digits = 0) {
  return value === null || value === undefined ? DASH : `${Number(value).toFixed(digits)}${unit}`;
}

function shortId(id) {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

/** A long id shown short, whole on hover. */
function idCell(id) {
  const node = el("span", "mono", shortId(id));
  node.title = id;
  return node;
}

function levelBar(value) {
  const wrap = el("span", "level");
  const fill = el("span", "level-fill");
  const known = value !== null && value !== undefined;
  fill.style.width = `${known ? Math.round(value * 100) : 0}%`;
  wrap.append(fill);
  wrap.title = known ? `${Math.round(value * 100)}%` : "no data";
  wrap.dataset.value = known ? String(value) : "";
  return wrap;
}

/** Keep one row per key, in order, updating rows in place (no flicker, buttons stay). */
function syncRows(tbody, items, keyOf, build) {
  const existing = new Map([...tbody.children].map((row) => [row.dataset.key, row]));
  items.forEach((item, index) => {
    const id = keyOf(item);
    let row = existing.get(id);
    existing.delete(id);
    if (!row) {
      row = el("tr");
      row.dataset.key = id;
    }
    build(row, item);
    if (tbody.children[index] !== row) tbody.insertBefore(row, tbody.children[index] || null);
  });
  existing.forEach((row) => row.remove());
}

function cells(row, values) {
  while (row.children.length < values.length) row.append(el("td"));
  values.forEach((value, index) => {
    const cell = row.children[index];
    if (value instanceof Node) {
      if (cell.firstChild !== value) cell.replaceChildren(value);
    } else {
      cell.textContent = value;
    }
  });
}

function render(data) {
  lastData = Date.now();
  if (document.body.dataset.connection !== "live") setConnection("live", "Live");
  $("who").hidden = false;
  $("who").textContent = `${data.operator} · ${data.replica_id}`;
  $("updated").textContent = `Updated ${timeOfDay(data.generated_at)}`;
  renderTiles(data);
  renderSessions(data.sessions);
  renderSlots(data.clients);
  renderReplicas(data.replicas);
  renderRecent(data.recent);
}

function renderTiles(data) {
  $("tile-live").textContent = String(data.totals.live);
  $("tile-waiting").textContent = String(data.totals.waiting);
  $("tile-outbox").textContent = String(data.totals.outbox_pending);
  const oldest = Math.max(0, ...data.replicas.map((r) => r.outbox.oldest_age_sec));
  $("tile-outbox-age").textContent = data.totals.outbox_pending ? `oldest ${clock(oldest)}` : "";
  $("tile-replicas").textContent = String(data.replicas.length);
  const store = data.state_store;
  $("tile-store").textContent = store.kind === "redis" ? "shared state: Redis" : "in-process state";
  const banner = $("store-banner");
  banner.hidden = store.reachable;
  banner.textContent = store.reachable
    ? ""
    : "The state store is unreachable: showing this replica only.";
}

function renderSessions(sessions) {
  $("sessions-empty").hidden = sessions.length > 0;
  syncRows($("sessions-body"), sessions, (s) => s.session_id, (row, s) => {
    row.dataset.testid = "session-row";
    row.dataset.sessionId = s.session_id;
    row.dataset.state = s.state || "";
    const state = el("span", `badge badge-${s.state || "none"}`, s.state || DASH);
    if (!s.connected) state.textContent = "reconnecting";
    let button = row.querySelector("button");
    if (!button) {
      button = el("button", "btn btn-danger btn-small", "End");
      button.type = "button";
      button.dataset.testid = "end-session";
      button.addEventListener("click", () => confirmEnd(row.sessionData));
    }
    row.sessionData = s;
    cells(row, [
      idCell(s.session_id),
      idCell(s.client_id),
      s.role_name,
      s.language,
      s.transport || DASH,
      timeOfDay(s.started_at),
      clock(s.elapsed_sec),
      clock(s.remaining_sec),
      state,
      levelBar(s.input_level),
      levelBar(s.output_level),
      number(s.upstream_rtt_ms, " ms"),
      number(s.packet_loss_pct, " %", 1),
      number(s.jitter_ms, " ms"),
      s.replica_id,
      button,
    ]);
    [6, 7, 11, 12, 13].forEach((i) => row.children[i].classList.add("num"));
    row.children[6].dataset.testid = "elapsed";
  });
}

function renderSlots(clients) {
  const list = $("slots");
  $("slots-empty").hidden = clients.length > 0;
  list.replaceChildren(
    ...clients.map((client) => {
      const item = el("li", "slot");
      item.dataset.testid = "slot";
      item.dataset.clientId = client.client_id;
      const head = el("div", "slot-head");
      const name = el("span", "slot-client", `Client ${shortId(client.client_id)}`);
      name.title = client.client_id;
      head.append(name);
      const count = el("span", "slot-count", `${client.used} / ${client.cap} slots`);
      count.dataset.testid = "slot-count";
      head.append(count);
      const bar = el("div", "bar");
      const fill = el("div", "bar-fill");
      const share = client.cap ? Math.min(1, client.used / client.cap) : 0;
      fill.style.width = `${Math.round(share * 100)}%`;
      if (share >= 1) fill.classList.add("full");
      bar.append(fill);
      const waiting = el("p", "slot-waiting");
      waiting.dataset.testid = "slot-waiting";
      waiting.textContent = client.waiting.length
        ? `${client.waiting.length} waiting: ` +
          client.waiting
            .map((w) => `#${w.position} ${shortId(w.session_id)} (${clock(w.waiting_sec)})`)
            .join(", ")
        : "Nobody waiting";
      item.append(head, bar, waiting);
      return item;
    }),
  );
}

function renderReplicas(replicas) {
  syncRows($("replicas-body"), replicas, (r) => r.replica_id, (row, r) => {
    row.dataset.testid = "replica-row";
    row.dataset.replicaId = r.replica_id;
    row.dataset.draining = String(r.draining);
    let button = row.querySelector("button");
    if (!button) {
      button = el("button", "btn btn-small");
      button.type = "button";
      button.dataset.testid = "drain-toggle";
      button.addEventListener("click", () => confirmDrain(row.replicaData));
    }
    row.replicaData = r;
    button.textContent = r.draining ? "Resume" : "Drain";
    button.classList.toggle("btn-danger", !r.draining);
    const name = el("span", "", r.replica_id + (r.this ? " (this)" : ""));
    const admitting = el("span", r.draining ? "badge badge-warn" : "badge badge-ok");
    admitting.textContent = r.draining ? "draining" : "yes";
    cells(row, [
      name,
      String(r.live_sessions),
      admitting,
      String(r.outbox.pending),
      r.outbox.pending ? clock(r.outbox.oldest_age_sec) : DASH,
      button,
    ]);
    [1, 3, 4].forEach((i) => row.children[i].classList.add("num"));
  });
}

function renderRecent(recent) {
  $("recent-empty").hidden = recent.length > 0;
  syncRows($("recent-body"), recent, (f) => `${f.session_id}/${f.ended_at}`, (row, f) => {
    row.dataset.testid = "recent-row";
    row.dataset.sessionId = f.session_id;
    const outcome = el("span", f.status === "completed" ? "badge badge-ok" : "badge badge-bad");
    outcome.textContent = f.status;
    const code = el("span", "code", f.code || DASH);
    code.title = f.message || "";
    cells(row, [
      timeOfDay(f.ended_at),
      idCell(f.client_id),
      f.role_name,
      outcome,
      code,
      clock(f.duration_sec),
      f.replica_id || DASH,
      idCell(f.session_id),
    ]);
    row.children[5].classList.add("num");
  });
}

/* -- actions --------------------------------------------------------------- */

function confirmAction(title, text, okLabel) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

async function confirmEnd(session) {
  const ok = await confirmAction(
    "End this interview?",
    `${session.role_name} for ${session.client_id}, live for ${clock(session.elapsed_sec)} ` +
      `on ${session.replica_id}. The candidate is told an operator ended it; the recording ` +
      "so far is kept and the session is reported as failed (ENDED_BY_OPERATOR).",
    "End interview",
  );
  if (!ok) return;
  const response = await post(`${API}/sessions/${encodeURIComponent(session.session_id)}/end`);
  if (response) toast(response.ok ? "Ending the interview…" : await problem(response));
}

async function confirmDrain(replica) {
  const draining = !replica.draining;
  const ok = await confirmAction(
    draining ? `Drain ${replica.replica_id}?` : `Resume ${replica.replica_id}?`,
    draining
      ? "It stops starting new interviews (new candidates are sent elsewhere) and reports " +
          "not ready; the interviews live on it continue until they end."
      : "It starts admitting new interviews again and reports ready.",
    draining ? "Drain" : "Resume",
  );
  if (!ok) return;
  const response = await post(`${API}/${draining ? "drain" : "undrain"}`, {
    replica_id: replica.replica_id,
  });
  if (response) {
    toast(response.ok ? (draining ? "Draining…" : "Admitting again…") : await problem(response));
  }
}

async function post(url, body) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401) {
      showLogin("That key is no longer accepted.");
      return null;
    }
    return response;
  } catch {
    toast("The gateway could not be reached.");
    return null;
  }
}

async function problem(response) {
  try {
    const body = await response.json();
    return `${body.error.code}: ${body.error.message}`;
  } catch {
    return `The gateway answered ${response.status}.`;
  }
}

let toastTimer = null;
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, TOAST_MS);
}

/* -- start ----------------------------------------------------------------- */

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("login-key").value.trim();
  if (!value) {
    showLogin("Enter an operator key.");
    return;
  }
  sessionStorage.setItem(KEY_STORE, value);
  $("login-key").value = "";
  start(value);
});

$("sign-out").addEventListener("click", () => showLogin(null));

window.addEventListener("hashchange", () => {
  if (/(?:^#|&)key=/.test(window.location.hash)) start(takeKeyFromFragment());
});

const found = takeKeyFromFragment();
if (found) start(found);
else showLogin(null);
