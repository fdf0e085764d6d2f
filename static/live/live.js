// A1 live client: one WebSocket to /ws/, auto-reconnect with backoff, resume by seq.
// No build step: <script type="module"> import { LiveClient } from "/static/live/live.js".
//
// Server frames are JSON arrays of messages. Stream messages are
// {topic, seq, type, ts, data}; replies are {type: welcome|subscribed|unsubscribed|pong|error|resync}.

const CLOSE_NO_RETRY = new Set([4400, 4401]); // fix the client (or log in) before retrying

export class LiveClient {
  constructor({ url, topics = [], filters = null, token = null, onMessage, onState, onResync, onError } = {}) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = url || `${scheme}//${location.host}/ws/`;
    this.topics = new Set(topics);
    this.filters = filters;
    this.token = token;
    this.lastSeq = new Map(); // topic → last seq seen: what a reconnect resumes from
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.onResync = onResync || (() => {});
    this.onError = onError || (() => {});
    this.attempt = 0;
    this.heartbeatS = 25;
    this.stopped = false;
    this.state = "idle";
  }

  start() {
    this.stopped = false;
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this._retryTimer);
    clearInterval(this._heartbeat);
    if (this.ws) this.ws.close(1000);
    this._setState("closed");
  }

  subscribe(topics) {
    topics.forEach((t) => this.topics.add(t));
    this._send({ type: "subscribe", topics, ...(this.filters ? { filters: this.filters } : {}) });
  }

  unsubscribe(topics) {
    topics.forEach((t) => { this.topics.delete(t); this.lastSeq.delete(t); });
    this._send({ type: "unsubscribe", topics });
  }

  _setState(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  _send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  _connect() {
    this._setState(this.attempt ? "reconnecting" : "connecting");
    const url = this.token ? `${this.url}?token=${encodeURIComponent(this.token)}` : this.url;
    const ws = (this.ws = new WebSocket(url));
    ws.onmessage = (event) => {
      let batch;
      try { batch = JSON.parse(event.data); } catch { return; }
      (Array.isArray(batch) ? batch : [batch]).forEach((m) => this._handle(m));
    };
    ws.onclose = (event) => {
      clearInterval(this._heartbeat);
      if (this.stopped) return;
      if (CLOSE_NO_RETRY.has(event.code)) {
        this._setState("failed", event.code);
        return;
      }
      // Exponential backoff with full jitter, 0.5 s → 30 s, so a restarted server is not stampeded.
      const ceiling = Math.min(30000, 500 * 2 ** this.attempt);
      this.attempt += 1;
      this._setState("offline", event.code);
      this._retryTimer = setTimeout(() => this._connect(), Math.random() * ceiling + 250);
    };
  }

  _onWelcome(message) {
    this.attempt = 0;
    this.heartbeatS = message.heartbeat_s || this.heartbeatS;
    clearInterval(this._heartbeat);
    this._heartbeat = setInterval(() => this._send({ type: "ping" }), this.heartbeatS * 1000);
    const known = {};
    const fresh = [];
    for (const topic of this.topics) {
      if (this.lastSeq.has(topic)) known[topic] = this.lastSeq.get(topic);
      else fresh.push(topic);
    }
    const filters = this.filters ? { filters: this.filters } : {};
    if (Object.keys(known).length) this._send({ type: "resume", topics: known, ...filters });
    if (fresh.length) this._send({ type: "subscribe", topics: fresh, ...filters });
    this._setState("live");
  }

  _handle(message) {
    if (message.type !== "resync" && message.topic !== undefined && message.seq !== undefined) {
      const last = this.lastSeq.get(message.topic);
      if (last !== undefined && message.seq <= last) return; // already seen (never expected)
      this.lastSeq.set(message.topic, message.seq);
      this.onMessage(message);
      return;
    }
    switch (message.type) {
      case "welcome": this._onWelcome(message); break;
      case "subscribed":
        for (const [topic, seq] of Object.entries(message.topics || {})) {
          if (!this.lastSeq.has(topic) || !message.resumed) this.lastSeq.set(topic, seq);
        }
        break;
      case "resync":
        this.lastSeq.set(message.topic, message.seq);
        this.onResync(message.topic, message);
        break;
      case "error": this.onError(message); break;
      default: break;
    }
  }
}

const TICKER_LIMIT = 100;

function row(list, html, cls) {
  const item = document.createElement("li");
  item.className = cls || "";
  item.innerHTML = html;
  list.prepend(item);
  while (list.children.length > TICKER_LIMIT) list.lastElementChild.remove();
}

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function time(ts) {
  const d = new Date(ts);
  return isNaN(d) ? "" : d.toLocaleTimeString();
}

// Simulated feed data is labelled as such wherever it is shown (site-wide .simulated-tag).
function simulatedTag(d) {
  return d && d.simulated ? ' <span class="simulated-tag" data-testid="simulated-label">simulated</span>' : "";
}

function renderOdds(list, m) {
  const d = m.data || {};
  if (m.type === "odds.steam") {
    row(list, `<b>STEAM</b> ${esc(d.player)} ${esc(d.stat)} ${esc(d.direction)} ${esc(d.move)} at ${esc((d.books || []).join(", "))}${simulatedTag(d)}`, "tick steam");
    return;
  }
  const move = d.prev_line != null && d.prev_line !== d.line ? ` <span class="move">${esc(d.prev_line)} → ${esc(d.line)}</span>` : ` ${esc(d.line)}`;
  row(list, `<time>${time(d.ts || m.ts)}</time> <span class="sport">${esc(d.sport)}</span> <b>${esc(d.player)}</b> ${esc(d.stat)}${move} <span class="muted">${esc(d.book)} o${esc(d.over_odds)} u${esc(d.under_odds)}</span>${simulatedTag(d)}`, `tick ${m.type.replace(".", "-")}`);
}

function percent(value) {
  return value == null ? "–" : `${(value * 100).toFixed(1)}%`;
}

// A quote's P(over) as last shown, so a rescored quote shows where it came from.
const shownPOver = new Map();
const SHOWN_LIMIT = 5000;

// prediction.updated: a quote the feed moved, rescored (predictions.live_wiring's message).
function renderPrediction(list, m) {
  const d = m.data || {};
  const key = [d.sport, d.game, d.player_id, d.stat, d.book].join("|");
  const before = shownPOver.get(key);
  if (shownPOver.size >= SHOWN_LIMIT) shownPOver.clear();
  shownPOver.set(key, d.p_over);
  const pOver = before != null && before !== d.p_over ? `${percent(before)} → ${percent(d.p_over)}` : percent(d.p_over);
  const edge = d.edge == null ? "" : ` <span class="edge ${d.edge > 0 ? "positive" : "negative"}">edge ${d.edge > 0 ? "+" : ""}${percent(d.edge)}${d.side ? " " + esc(d.side) : ""}</span>`;
  const player = d.prediction_id != null ? `<a href="/predictions/${encodeURIComponent(d.prediction_id)}/"><b>${esc(d.player)}</b></a>` : `<b>${esc(d.player)}</b>`;
  row(list, `<time>${time(d.seen_at || m.ts)}</time> <span class="sport">${esc(d.sport)}</span> ${player} ${esc(d.stat)} ${esc(d.line)} <span class="muted">${esc(d.book)}</span> <span class="p-over">P(over) ${pOver}</span>${edge}${simulatedTag(d)}`, "prediction");
}

// The Live page: wires the client to the ticker lists and the connection badge.
export function mountLivePage(root) {
  const topics = JSON.parse(root.dataset.topics || "[]");
  const lists = {
    odds: root.querySelector("[data-list=odds]"),
    predictions: root.querySelector("[data-list=predictions]"),
    alerts: root.querySelector("[data-list=alerts]"),
    jobs: root.querySelector("[data-list=jobs]"),
  };
  const badge = root.querySelector("[data-live-state]");
  const client = new LiveClient({
    topics,
    onState: (state, code) => {
      badge.dataset.liveState = state;
      badge.textContent = state + (code && state !== "live" ? ` (${code})` : "");
    },
    onMessage: (m) => {
      if (m.topic.startsWith("odds.")) renderOdds(lists.odds, m);
      else if (m.topic.startsWith("predictions.") && m.type === "prediction.updated") renderPrediction(lists.predictions, m);
      else if (m.topic === "alerts") row(lists.alerts, `<time>${time(m.ts)}</time> <b>${esc(m.type)}</b> ${esc(m.data.player)} ${esc(m.data.stat)} ${m.data.edge != null ? "edge " + esc((m.data.edge * 100).toFixed(1)) + "%" : esc(m.data.direction || "")}${simulatedTag(m.data)}`, "alert");
      else if (m.topic.startsWith("jobs.")) row(lists.jobs, `<b>${esc(m.data.kind)}</b> ${esc(m.data.status)} <progress max="100" value="${esc(m.data.progress)}"></progress> ${esc(m.data.progress)}% ${esc(m.data.message)}`, "job");
    },
    onResync: (topic) => {
      // The server no longer holds what we missed: reload that state from the REST API.
      if (topic.startsWith("odds.")) loadRecentOdds(lists.odds, topic.split(".")[1]);
      row(lists.alerts, `<i>Reloaded ${esc(topic)} (missed updates were too old to replay).</i>`, "notice");
    },
    onError: (e) => row(lists.alerts, `<i>${esc(e.code)}: ${esc(e.message)}</i>`, "notice"),
  });
  root.liveClient = client;
  return client.start();
}

async function loadRecentOdds(list, sport) {
  try {
    const response = await fetch(`/api/odds/?limit=20${sport ? "&sport=" + encodeURIComponent(sport) : ""}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const body = await response.json();
    for (const t of body.results.reverse()) {
      renderOdds(list, { type: "odds.snapshot", ts: t.ts, data: { ...t, prev_line: null } });
    }
  } catch { /* offline: the next message or reconnect fills in */ }
}

const root = document.querySelector("[data-live-page]");
if (root) mountLivePage(root);
