/**
 * Which transport carries the interview: WebRTC first, WebSocket when WebRTC
 * can't work on this network or in this browser.
 *
 * The mode comes from the page's query string, `?transport=auto|webrtc|websocket`
 * (default `auto`). The candidate link has no query, so only testers choose.
 * In `auto`, an attempt that reports WebRTC unusable (webrtc-transport.js,
 * close code 4001) switches the page to WebSocket for the rest of its life,
 * and the reason is kept for the "Connection details" panel. A forced mode
 * never switches.
 *
 * Once WebRTC has carried the interview, an offer that never got an answer
 * (the network is down) is an ordinary drop, retried over WebRTC; a network
 * that answers the offer but lets no media through still falls back.
 */

export const TransportKind = Object.freeze({
  WEBRTC: "webrtc",
  WEBSOCKET: "websocket",
});

export const TransportMode = Object.freeze({
  AUTO: "auto",
  WEBRTC: TransportKind.WEBRTC,
  WEBSOCKET: TransportKind.WEBSOCKET,
});

const QUERY_KEY = "transport";

/** The mode asked for in `search` (a URL query string); unknown values mean auto. */
export function transportMode(search = window.location.search) {
  const asked = new URLSearchParams(search).get(QUERY_KEY);
  return Object.values(TransportMode).includes(asked) ? asked : TransportMode.AUTO;
}

export class TransportChoice {
  /**
   * factories: {webrtc, websocket}, each `(callbacks) => transport`;
   * webrtcSupported: false in browsers without RTCPeerConnection.
   */
  constructor({ mode, factories, webrtcSupported }) {
    this.mode = mode;
    this.factories = factories;
    this.kind = mode === TransportMode.WEBSOCKET ? TransportKind.WEBSOCKET : TransportKind.WEBRTC;
    this.fallbackReason = null;
    this.proven = false;
    if (this.kind === TransportKind.WEBRTC && !webrtcSupported && mode === TransportMode.AUTO) {
      this.fallBack("this browser has no WebRTC");
    }
  }

  /** What the debug panel shows: "webrtc", "websocket (fallback: <reason>)", … */
  get label() {
    if (this.fallbackReason) return `${this.kind} (fallback: ${this.fallbackReason})`;
    return this.mode === TransportMode.AUTO ? this.kind : `${this.kind} (forced by ?transport=)`;
  }

  create(callbacks) {
    return this.factories[this.kind](callbacks);
  }

  /**
   * The readiness check found WebRTC can't work on this network: start on
   * WebSocket (auto mode only), with `reason` for the debug panel.
   */
  prefer(kind, reason) {
    if (this.mode !== TransportMode.AUTO || kind !== TransportKind.WEBSOCKET) return false;
    return this.fallBack(`readiness check: ${reason}`);
  }

  /** The current transport delivered the gateway's first event. */
  succeeded() {
    this.proven = true;
  }

  /**
   * WebRTC reported itself unusable: switch to WebSocket and return true, or
   * return false when the page keeps its transport (a forced mode, already on
   * WebSocket, or a network outage on a network where WebRTC has worked).
   */
  fallBack(reason, { transient = false } = {}) {
    if (this.mode !== TransportMode.AUTO || this.kind !== TransportKind.WEBRTC) return false;
    if (transient && this.proven) return false;
    this.kind = TransportKind.WEBSOCKET;
    this.fallbackReason = reason;
    this.proven = false;
    return true;
  }
}
