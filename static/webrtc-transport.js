/**
 * The WebRTC transport (docs/candidate-protocol.md, section 4).
 *
 * One transport is one RTCPeerConnection: the microphone track goes out as
 * Opus, the interviewer's track plays through an <audio> element (where the
 * browser's echo canceller hears it), and the protocol's events arrive as
 * JSON on the data channel `events`, on which the page pings every second.
 * A reconnect is a new transport: a new peer connection, a new offer, the
 * same ticket.
 *
 * Signaling is one non-trickle POST: the `events` channel is created before
 * the offer (so the offer carries its m-line), ICE gathering runs to
 * completion, and the offer goes out with every candidate in it.
 *
 * The interface is websocket-transport.js's; sendAudio/onAudio are unused
 * because audio travels on the tracks. onClose reports the WebSocket close
 * code with the same meaning, so live.js treats both transports alike:
 *
 *   4001  WebRTC is unusable here (`reason` says why; `transient` when the
 *         offer got no answer at all): the page may fall back to WebSocket
 *   4401  offer 401, or a TICKET_INVALID / SESSION_UNKNOWN error event
 *   4403  offer 403, or a CONSENT_REQUIRED error event
 *   4409  offer 409, or a SESSION_FINISHED / SUPERSEDED error event
 *   1013  offer 429 or 503, or a GATEWAY_DRAINING / GATEWAY_DISK_LOW / GATEWAY_CPU_HIGH
 *         error event: try again later
 *
 * For testers, `?ice=relay` in the page's query makes the peer connection
 * use relayed (TURN) candidates only (iceTransportPolicy "relay"), which
 * proves a TURN server carries the media; candidate links carry no query.
 *   1006  the connection died (failed, disconnected, closed, channel closed)
 */

import { ApiError, sendOffer } from "./api.js";
import { CloseCode } from "./live.js";

const EVENTS_CHANNEL = "events";
// From start() to an open data channel (gathering, the offer POST, ICE, DTLS,
// SCTP). On a network that lets UDP through this takes well under a second.
const CONNECT_TIMEOUT_MS = 5000;
// Gathering waits for every STUN/TURN server; past this the offer goes out
// with the candidates found so far.
const GATHER_TIMEOUT_MS = 2500;
const PING_INTERVAL_MS = 1000;
const PING = JSON.stringify({ type: "ping" });
// While live the gateway sends a timer event every second, and it gives up
// on a page after 5 s without pings: notice a dead peer before that.
const LIVE_SILENCE_MS = 3500;
const LOST_STATES = new Set(["failed", "disconnected", "closed"]);
const CANDIDATE_LINE = /^a=candidate:/m;

// Error events the gateway follows by closing the peer, as WebSocket close codes.
const ERROR_CLOSES = new Map([
  ["TICKET_INVALID", CloseCode.TICKET_INVALID],
  ["SESSION_UNKNOWN", CloseCode.TICKET_INVALID],
  ["CONSENT_REQUIRED", CloseCode.FORBIDDEN],
  ["SESSION_FINISHED", CloseCode.SESSION_CLOSED],
  ["SUPERSEDED", CloseCode.SESSION_CLOSED],
  ["GATEWAY_DRAINING", CloseCode.TRY_AGAIN_LATER],
  ["GATEWAY_DISK_LOW", CloseCode.TRY_AGAIN_LATER],
  ["GATEWAY_CPU_HIGH", CloseCode.TRY_AGAIN_LATER],
]);
// Offer refusals that say nothing against WebRTC; any other one means it can't work here.
const OFFER_CLOSES = new Map([
  [401, CloseCode.TICKET_INVALID],
  [403, CloseCode.FORBIDDEN],
  [409, CloseCode.SESSION_CLOSED],
  [429, CloseCode.TRY_AGAIN_LATER],
  [503, CloseCode.TRY_AGAIN_LATER],
]);

const ICE_QUERY_KEY = "ice";
const IcePolicy = Object.freeze({ ALL: "all", RELAY: "relay" });

/** The ICE transport policy asked for in `search` (a URL query string): "relay" or "all". */
export function icePolicy(search = window.location.search) {
  const asked = new URLSearchParams(search).get(ICE_QUERY_KEY);
  return asked === IcePolicy.RELAY ? IcePolicy.RELAY : IcePolicy.ALL;
}

export function webrtcSupported() {
  return typeof RTCPeerConnection === "function";
}

/**
 * A transport factory for TransportChoice. `iceServers()` returns the
 * session's current RTCIceServer list; `player` is the <audio> element that
 * plays the interviewer; `policy` is the iceTransportPolicy (`icePolicy()`).
 */
export function webrtcTransports({ iceServers, player, policy = IcePolicy.ALL }) {
  return (callbacks) =>
    new WebRTCTransport(callbacks, { iceServers: iceServers(), player, policy });
}

class WebRTCTransport {
  constructor({ onOpen, onEvent, onClose }, { iceServers, player, policy }) {
    this.kind = "webrtc";
    this.liveSilenceMs = LIVE_SILENCE_MS;
    this.callbacks = { onOpen, onEvent, onClose };
    this.iceServers = iceServers;
    this.policy = policy;
    this.player = player;
    this.pc = null;
    this.channel = null;
    this.sender = null;
    this.remote = null;
    this.answered = false;
    this.opened = false;
    this.closed = false;
    this.connectTimer = null;
    this.pingTimer = null;
    this.stats = { framesSent: 0, framesReceived: 0, framesDropped: 0, path: null, playback: null };
  }

  start({ ticket, microphone }) {
    this.connectTimer = setTimeout(() => {
      if (!this.answered) {
        this.unavailable("the offer got no answer in time", { transient: true });
        return;
      }
      const ice = this.pc ? this.pc.iceConnectionState : "new";
      this.unavailable(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s (ICE ${ice})`);
    }, CONNECT_TIMEOUT_MS);
    this.negotiate(ticket, microphone).catch((err) => {
      const name = err && err.name ? err.name : "Error";
      this.unavailable(`WebRTC setup failed (${name}: ${err && err.message ? err.message : err})`);
    });
  }

  /** Audio travels on the microphone track. */
  sendAudio() {
    return false;
  }

  sendMessage(message) {
    return this.send(JSON.stringify(message));
  }

  /** Send from a new microphone stream (the candidate's device changed). */
  useMicrophone(stream) {
    const track = stream ? stream.getAudioTracks()[0] : null;
    if (this.sender && track) this.sender.replaceTrack(track).catch(() => {});
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.teardown();
  }

  // -- internals -------------------------------------------------------------

  async negotiate(ticket, microphone) {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      iceTransportPolicy: this.policy,
    });
    this.pc = pc;
    // Created before the offer: a channel added later would need renegotiation.
    this.channel = pc.createDataChannel(EVENTS_CHANNEL);
    this.listen(pc, this.channel);
    const track = microphone ? microphone.getAudioTracks()[0] : null;
    const streams = microphone ? [microphone] : [];
    this.sender = pc.addTransceiver(track || "audio", { direction: "sendrecv", streams }).sender;
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, GATHER_TIMEOUT_MS);
    if (this.closed) return;
    const offer = pc.localDescription.sdp;
    if (!CANDIDATE_LINE.test(offer)) {
      this.unavailable("no ICE candidates gathered");
      return;
    }
    let answer;
    try {
      answer = await sendOffer(ticket, offer, CONNECT_TIMEOUT_MS);
    } catch (err) {
      this.offerFailed(err);
      return;
    }
    if (this.closed) return;
    this.answered = true;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  }

  listen(pc, channel) {
    pc.addEventListener("track", (event) => this.play(event));
    pc.addEventListener("connectionstatechange", () => {
      const state = pc.connectionState;
      if (!LOST_STATES.has(state)) return;
      if (this.opened) this.end({ code: CloseCode.ABNORMAL, reason: `connection ${state}` });
      else this.unavailable(`ICE ${state}`);
    });
    channel.addEventListener("open", () => this.channelOpen());
    channel.addEventListener("message", (event) => this.receive(event.data));
    channel.addEventListener("close", () => {
      if (this.opened) this.end({ code: CloseCode.ABNORMAL, reason: "data channel closed" });
      else this.unavailable("data channel closed before it opened");
    });
  }

  offerFailed(err) {
    if (this.closed) return;
    if (!(err instanceof ApiError)) {
      this.unavailable(`offer failed: ${err}`);
      return;
    }
    if (err.status === 0) {
      this.unavailable("the offer got no answer", { transient: true });
      return;
    }
    const code = OFFER_CLOSES.get(err.status);
    if (code === undefined) {
      this.unavailable(`offer refused: ${err.code}`);
      return;
    }
    // As over WebSocket: the error event first, then the close it explains.
    this.callbacks.onEvent({ type: "error", code: err.code, message: err.message });
    this.end({ code, reason: err.code });
  }

  channelOpen() {
    if (this.closed) return;
    this.opened = true;
    clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.tick();
    this.pingTimer = setInterval(() => this.tick(), PING_INTERVAL_MS);
    this.callbacks.onOpen();
  }

  receive(data) {
    if (this.closed || typeof data !== "string") return;
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (!event || typeof event.type !== "string") return;
    this.callbacks.onEvent(event);
    if (event.type === "error" && ERROR_CLOSES.has(event.code)) {
      this.end({ code: ERROR_CLOSES.get(event.code), reason: event.code });
    }
  }

  play(event) {
    if (this.closed || event.track.kind !== "audio") return;
    this.remote = event.streams[0] || new MediaStream([event.track]);
    this.player.srcObject = this.remote;
    // Start is a click, so autoplay is allowed; a refusal shows in the debug panel.
    this.player.play().catch((err) => {
      this.stats.playback = `blocked (${err.name})`;
    });
  }

  tick() {
    if (this.closed) return;
    this.send(PING);
    this.readStats();
  }

  async readStats() {
    let report;
    try {
      report = await this.pc.getStats();
    } catch {
      return;
    }
    const byId = new Map();
    report.forEach((entry) => byId.set(entry.id, entry));
    for (const entry of byId.values()) {
      if (entry.kind === "audio" && entry.type === "outbound-rtp") {
        this.stats.framesSent = entry.packetsSent || 0;
      } else if (entry.kind === "audio" && entry.type === "inbound-rtp") {
        this.stats.framesReceived = entry.packetsReceived || 0;
        this.stats.framesDropped = Math.max(0, entry.packetsLost || 0);
        const emitted = entry.jitterBufferEmittedCount || 0;
        const buffered = emitted ? Math.round((1000 * entry.jitterBufferDelay) / emitted) : 0;
        const state = this.player.paused ? "paused" : "playing";
        this.stats.playback = `<audio> ${state}, ${buffered} ms jitter buffer`;
      } else if (entry.type === "transport" && entry.selectedCandidatePairId) {
        const pair = byId.get(entry.selectedCandidatePairId);
        const local = pair && byId.get(pair.localCandidateId);
        const rtt = pair && pair.currentRoundTripTime;
        if (local) {
          const time = typeof rtt === "number" ? `, rtt ${Math.round(rtt * 1000)} ms` : "";
          this.stats.path = `${local.candidateType} ${local.protocol}${time}`;
        }
      }
    }
  }

  send(text) {
    if (this.closed || !this.channel || this.channel.readyState !== "open") return false;
    try {
      this.channel.send(text);
      return true;
    } catch {
      // The channel closed between the check and the send; its close event follows.
      return false;
    }
  }

  unavailable(reason, { transient = false } = {}) {
    this.end({ code: CloseCode.UNAVAILABLE, reason, transient });
  }

  end(closed) {
    if (this.closed) return;
    this.closed = true;
    this.teardown();
    this.callbacks.onClose(closed);
  }

  teardown() {
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    this.connectTimer = this.pingTimer = null;
    if (this.player.srcObject === this.remote && this.remote !== null) {
      this.player.pause();
      this.player.srcObject = null;
    }
    if (this.channel) this.channel.close();
    if (this.pc) this.pc.close();
  }
}

/** Resolve once `pc` has gathered all its candidates, or after `timeoutMs`. */
function gatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}
