/**
 * One candidate's live connection: hello, waiting room, live, and reconnects.
 *
 * It drives a transport (websocket-transport.js shows the interface) made
 * by `transports` (a TransportChoice) and survives drops: while the
 * gateway's reconnect grace lasts it reconnects with backoff and jitter,
 * with the same ticket; after close code 4401 it first asks `reverify()`
 * for a fresh ticket. When a WebRTC attempt reports WebRTC unusable (close
 * code 4001) and the choice falls back, it connects again at once over
 * WebSocket. Events reach the page through `handlers`:
 *
 *   state(ConnectionState)   connecting | waiting | live | reconnecting
 *   transport(choice)        a new transport was created (its kind, a fallback reason)
 *   waiting(event), live(event), event(event)   protocol events (caption, state, timer, error)
 *   audio(ArrayBuffer)       one interviewer frame
 *   ended(reason, {ratingWindowSec})   the interview is over (an `ended` reason, or
 *                            SESSION_FINISHED); with a rating window the connection stays
 *                            open for `rate()` until the gateway closes it
 *   rating(outcome)          after `rate()`: `rated`, or the gateway's error event, or
 *                            `closed` (the connection ended before an answer)
 *   failed(code)             CONNECTION_LOST | SUPERSEDED | CONSENT_REQUIRED | FORBIDDEN
 *
 * `reverify()` resolves to a new ticket, or to null when the page has
 * already shown a final screen (link expired, interview finished); it
 * rejects when the service is unreachable, which counts as a failed attempt.
 */

export const ConnectionState = Object.freeze({
  IDLE: "idle",
  CONNECTING: "connecting",
  WAITING: "waiting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  ENDED: "ended",
  FAILED: "failed",
});

export const CloseCode = Object.freeze({
  NORMAL: 1000,
  ABNORMAL: 1006,
  TRY_AGAIN_LATER: 1013,
  TICKET_INVALID: 4401,
  FORBIDDEN: 4403,
  SESSION_CLOSED: 4409,
  // Not sent by the gateway: the page gave up on a silent connection.
  LOCAL_TIMEOUT: 4000,
  // Not sent by the gateway: WebRTC can't work here (webrtc-transport.js).
  UNAVAILABLE: 4001,
});

// The gateway keeps a dropped session for ZENHIRE_RECONNECT_GRACE_SEC (30 s by default).
const RECONNECT_WINDOW_MS = 30000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 5000;
const BACKOFF_JITTER = 0.25;
// No first event this long after connecting ⇒ the attempt failed.
const CONNECT_TIMEOUT_MS = 10000;
// While live the gateway sends a timer event every second; this much silence
// means a dead link (unless the transport names its own limit, `liveSilenceMs`).
const LIVE_SILENCE_MS = 8000;
// How long the connection stays open after `ended`, for the last audio to play out.
const ENDED_LINGER_MS = 1500;
const WAITING_SILENCE_MIN_MS = 10000;
// Beyond the gateway's rating window, how long the page waits for its close.
const RATING_GRACE_SEC = 5;

export class LiveConnection {
  constructor({ transports, ticket, microphone, reverify, handlers }) {
    this.transports = transports;
    this.ticket = ticket;
    this.microphone = microphone;
    this.reverify = reverify;
    this.handlers = handlers;
    this.state = ConnectionState.IDLE;
    this.transport = null;
    this.needsVerify = false;
    this.endRequested = false;
    this.lastError = null;
    this.lastClose = null;
    this.reconnects = 0;
    this.attempt = 0;
    this.dropStartedAt = null;
    this.retryTimer = null;
    this.watchdog = null;
    this.silenceMs = CONNECT_TIMEOUT_MS;
    this.totals = { framesSent: 0, framesReceived: 0, framesDropped: 0 };
    this.onOnline = () => this.reconnectNow();
    window.addEventListener("online", this.onOnline);
  }

  start() {
    this.setState(ConnectionState.CONNECTING);
    this.connect();
  }

  /** Send one microphone frame; frames before `live` are dropped by design. */
  sendAudio(frame) {
    if (this.state !== ConnectionState.LIVE || !this.transport) return false;
    return this.transport.sendAudio(frame);
  }

  /** Use a new microphone stream (the candidate's device changed or came back). */
  useMicrophone(stream) {
    this.microphone = stream;
    if (this.transport && this.transport.useMicrophone) this.transport.useMicrophone(stream);
  }

  /** Ask the gateway to finish the interview (now, or as soon as it is live again). */
  end() {
    this.endRequested = true;
    if (this.state === ConnectionState.LIVE && this.transport) this.transport.sendMessage({ type: "end" });
  }

  /**
   * Send the candidate's rating (`{score, comment}` or `{skipped: true}`) in the
   * rating window that followed `ended`; false when the connection is gone.
   */
  rate(rating) {
    if (this.state !== ConnectionState.ENDED || !this.transport) return false;
    return this.transport.sendMessage({ type: "rating", ...rating }) !== false;
  }

  /** After `failed`: verify again and reconnect, with a fresh reconnect window. */
  retry() {
    if (this.state !== ConnectionState.FAILED) return;
    this.dropStartedAt = null;
    this.attempt = 0;
    this.needsVerify = true;
    this.setState(ConnectionState.RECONNECTING);
    this.reconnect();
  }

  close() {
    this.stopTimers();
    clearTimeout(this.ratingTimer);
    window.removeEventListener("online", this.onOnline);
    this.dropTransport();
    if (this.state !== ConnectionState.ENDED) this.state = ConnectionState.FAILED;
  }

  get stats() {
    const current = this.transport ? this.transport.stats : { framesSent: 0, framesReceived: 0, framesDropped: 0 };
    return {
      kind: this.transports.label,
      path: current.path || null,
      playback: current.playback || null,
      state: this.state,
      framesSent: this.totals.framesSent + current.framesSent,
      framesReceived: this.totals.framesReceived + current.framesReceived,
      framesDropped: this.totals.framesDropped + current.framesDropped,
      reconnects: this.reconnects,
      lastClose: this.lastClose,
      lastError: this.lastError,
    };
  }

  // -- internals -------------------------------------------------------------

  connect() {
    this.dropTransport();
    const transport = this.transports.create({
      onOpen: () => {},
      onEvent: (event) => transport === this.transport && this.receive(event),
      onAudio: (frame) => transport === this.transport && this.handlers.audio(frame),
      onClose: (closed) => transport === this.transport && this.closed(closed),
    });
    this.transport = transport;
    this.silenceMs = CONNECT_TIMEOUT_MS;
    this.armWatchdog();
    this.handlers.transport(this.transports);
    transport.start({ ticket: this.ticket, microphone: this.microphone });
  }

  receive(event) {
    if (this.state === ConnectionState.ENDED) {
      this.afterEnd(event);
      return;
    }
    this.armWatchdog();
    switch (event.type) {
      case "waiting":
        this.healthy();
        this.silenceMs = Math.max(WAITING_SILENCE_MIN_MS, 3000 * (Number(event.retry_after_sec) || 0));
        this.armWatchdog();
        this.setState(ConnectionState.WAITING);
        this.handlers.waiting(event);
        break;
      case "live":
        this.healthy();
        this.silenceMs = this.transport.liveSilenceMs || LIVE_SILENCE_MS;
        this.armWatchdog();
        this.setState(ConnectionState.LIVE);
        this.handlers.live(event);
        // This page asks for a rating when the interview ends (section 3).
        this.transport.sendMessage({ type: "features", rating: true });
        if (this.endRequested) this.transport.sendMessage({ type: "end" });
        break;
      case "ended":
        this.finish(String(event.reason || "ENDED"), Number(event.rating_window_sec) || 0);
        break;
      case "reconnect":
        // This server hands the interview on (a deploy, or another server holds it
        // now): reconnect at once, without backoff; the next server takes it over.
        this.dropTransport();
        if (this.dropStartedAt === null) this.dropStartedAt = Date.now();
        this.setState(ConnectionState.RECONNECTING);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.reconnect(), 0);
        break;
      case "error":
        this.lastError = { code: String(event.code || ""), message: String(event.message || "") };
        this.handlers.event(event);
        break;
      default:
        this.handlers.event(event);
    }
  }

  closed({ code, reason, transient = false }) {
    this.lastClose = { code, reason };
    if (this.state === ConnectionState.ENDED && this.transport) {
      this.dropTransport();
      this.handlers.rating({ type: "closed" });
    }
    if (this.state === ConnectionState.ENDED || this.state === ConnectionState.FAILED) return;
    const errorCode = this.lastError ? this.lastError.code : "";
    switch (code) {
      case CloseCode.UNAVAILABLE:
        // Nothing says the network is down: try the other transport at once.
        if (this.transports.fallBack(reason, { transient })) this.connect();
        else this.scheduleReconnect();
        return;
      case CloseCode.NORMAL:
        this.finish("ENDED");
        return;
      case CloseCode.SESSION_CLOSED:
        if (errorCode === "SESSION_FINISHED" || reason === "SESSION_FINISHED") this.finish("SESSION_FINISHED");
        else this.fail("SUPERSEDED");
        return;
      case CloseCode.FORBIDDEN:
        this.fail(errorCode === "CONSENT_REQUIRED" ? "CONSENT_REQUIRED" : "FORBIDDEN");
        return;
      case CloseCode.TICKET_INVALID:
        this.needsVerify = true;
        this.scheduleReconnect();
        return;
      default:
        this.scheduleReconnect();
    }
  }

  healthy() {
    this.transports.succeeded();
    if (this.dropStartedAt !== null) this.reconnects += 1;
    this.dropStartedAt = null;
    this.attempt = 0;
    this.lastError = null;
  }

  scheduleReconnect() {
    this.dropTransport();
    const now = Date.now();
    if (this.dropStartedAt === null) this.dropStartedAt = now;
    const left = RECONNECT_WINDOW_MS - (now - this.dropStartedAt);
    if (left <= 0) {
      this.fail("CONNECTION_LOST");
      return;
    }
    this.setState(ConnectionState.RECONNECTING);
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const jitter = 1 + BACKOFF_JITTER * (2 * Math.random() - 1);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.reconnect(), Math.min(left, base * jitter));
  }

  reconnectNow() {
    if (this.state !== ConnectionState.RECONNECTING || this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.reconnect();
  }

  async reconnect() {
    this.retryTimer = null;
    if (this.needsVerify) {
      let ticket;
      try {
        ticket = await this.reverify();
      } catch {
        this.scheduleReconnect();
        return;
      }
      if (this.state !== ConnectionState.RECONNECTING) return;
      if (ticket === null) {
        this.close();
        return;
      }
      this.ticket = ticket;
      this.needsVerify = false;
    }
    this.connect();
  }

  finish(reason, ratingWindowSec = 0) {
    this.stopTimers();
    this.setState(ConnectionState.ENDED);
    window.removeEventListener("online", this.onOnline);
    if (ratingWindowSec > 0) {
      // The gateway keeps the connection open for the rating and closes it itself;
      // this is only the page's own bound, should that close never arrive.
      const transport = this.transport;
      this.ratingTimer = setTimeout(() => {
        if (this.transport === transport) this.dropTransport();
      }, (ratingWindowSec + RATING_GRACE_SEC) * 1000);
    } else {
      // Keep the connection a moment: over WebRTC the interviewer's last words are
      // still in the browser's jitter buffer, and closing the peer would cut them.
      this.dropTransport(ENDED_LINGER_MS);
    }
    this.handlers.ended(reason, { ratingWindowSec });
  }

  /** Events after `ended`: the answer to a rating. */
  afterEnd(event) {
    if (event.type === "rated") {
      this.handlers.rating({ type: "rated" });
    } else if (event.type === "error" && String(event.code || "").startsWith("RATING_")) {
      this.handlers.rating({ type: "error", code: String(event.code), message: String(event.message || "") });
    }
  }

  fail(code) {
    this.stopTimers();
    this.dropTransport();
    this.setState(ConnectionState.FAILED);
    this.handlers.failed(code);
  }

  armWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      if (!this.transport) return;
      this.lastClose = { code: CloseCode.LOCAL_TIMEOUT, reason: "no data from the server" };
      this.scheduleReconnect();
    }, this.silenceMs);
  }

  stopTimers() {
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    this.retryTimer = this.watchdog = null;
  }

  dropTransport(lingerMs = 0) {
    clearTimeout(this.watchdog);
    this.watchdog = null;
    const transport = this.transport;
    if (!transport) return;
    const stats = transport.stats;
    this.totals.framesSent += stats.framesSent;
    this.totals.framesReceived += stats.framesReceived;
    this.totals.framesDropped += stats.framesDropped;
    this.transport = null;
    if (lingerMs > 0) setTimeout(() => transport.close(), lingerMs);
    else transport.close();
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.handlers.state(state);
  }
}
