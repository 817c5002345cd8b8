/**
 * The candidate page: link check → consent → microphone check → interview → end.
 *
 * Phases (document.body.dataset.phase): loading, invalid, consent, device,
 * ready, waiting, live, reconnecting, ended, error. Final screens also set
 * document.body.dataset.endReason (an `ended` reason or an error code).
 * Once connecting, document.body.dataset.transport is `webrtc` or
 * `websocket`, and dataset.transportFallback says why WebRTC was given up.
 */

import { ApiError, openSession, recordConsent } from "./api.js";
import { AudioEngine } from "./audio.js";
import { Captions } from "./captions.js";
import { Debug } from "./debug.js";
import { forgetToken, takeToken, watchForNewLink } from "./link.js";
import { ConnectionState, LiveConnection } from "./live.js";
import {
  connectionProblem,
  durationNote,
  endScreen,
  languageName,
  linkProblem,
  microphoneHelp,
} from "./messages.js";
import { listMicrophones, openMicrophone, stopStream } from "./microphone.js";
import { TransportChoice, transportMode } from "./transport-choice.js";
import { View } from "./view.js";
import { icePolicy, webrtcSupported, webrtcTransports } from "./webrtc-transport.js";
import { createWebSocketTransport } from "./websocket-transport.js";

// The level above which the microphone check says "we can hear you".
const HEARD_LEVEL = 0.2;
const METER_ARIA_INTERVAL_MS = 250;
// Interviewer audio still in the player when the interview ends gets this long to play out.
const PLAYOUT_TAIL_MS = 1500;
const TIME_WARNINGS_SEC = [300, 60];
const LOW_TIME_SEC = 120;

const TALK_STATES = {
  listening: "Listening — your turn",
  thinking: "Thinking…",
  speaking: "Interviewer speaking",
};

const $ = (id) => document.getElementById(id);
const ui = {
  roleLine: $("role-line"),
  roleName: $("role-name"),
  roleLanguage: $("role-language"),
  consentText: $("consent-text"),
  consentForm: $("consent-form"),
  consentBox: $("consent-checkbox"),
  consentContinue: $("consent-continue"),
  consentError: $("consent-error"),
  micHelp: $("mic-help"),
  micHelpSteps: $("mic-help-steps"),
  micRetry: $("mic-retry"),
  micCheck: $("mic-check"),
  meter: $("level-meter"),
  levelBar: $("level-bar"),
  liveLevelBar: $("live-level-bar"),
  micFeedback: $("mic-feedback"),
  micSelectField: $("mic-select-field"),
  micSelect: $("mic-select"),
  micActivate: $("mic-activate"),
  tipDuration: $("tip-duration"),
  tipExtraTime: $("tip-extra-time"),
  startButton: $("start-button"),
  startError: $("start-error"),
  state: $("state"),
  stateText: $("state-text"),
  timer: $("timer"),
  endButton: $("end-button"),
  endDialog: $("end-dialog"),
  endCancel: $("end-cancel"),
  endConfirm: $("end-confirm"),
  retryButton: $("retry-button"),
  remoteAudio: $("remote-audio"),
};

class CandidatePage {
  constructor() {
    this.view = new View();
    this.captions = new Captions($("captions"), $("captions-empty"));
    this.engine = new AudioEngine();
    this.debug = new Debug(() => this.stats());
    this.transports = new TransportChoice({
      mode: transportMode(),
      webrtcSupported: webrtcSupported(),
      factories: {
        webrtc: webrtcTransports({
          iceServers: () => this.iceServers,
          player: ui.remoteAudio,
          policy: icePolicy(),
        }),
        websocket: createWebSocketTransport,
      },
    });
    this.token = null;
    this.ticket = null;
    this.iceServers = [];
    this.session = null;
    this.consent = null;
    this.stream = null;
    this.connection = null;
    this.wasLive = false;
    this.heard = false;
    this.meterFrame = null;
    this.meterAriaAt = 0;
    this.warned = new Set();
    this.retryAction = null;
    this.finished = false;
    this.bind();
  }

  bind() {
    ui.consentForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitConsent();
    });
    ui.consentBox.addEventListener("change", () => {
      if (ui.consentBox.checked) this.consentProblem(null);
    });
    ui.micRetry.addEventListener("click", () => this.checkMicrophone());
    ui.micSelect.addEventListener("change", () => this.checkMicrophone(ui.micSelect.value));
    ui.micActivate.addEventListener("click", async () => {
      await this.engine.resume();
      ui.micActivate.hidden = this.engine.running;
    });
    ui.startButton.addEventListener("click", () => this.startInterview());
    ui.endButton.addEventListener("click", () => ui.endDialog.showModal());
    ui.endCancel.addEventListener("click", () => ui.endDialog.close());
    ui.endConfirm.addEventListener("click", () => {
      ui.endDialog.close();
      this.endInterview();
    });
    ui.retryButton.addEventListener("click", () => {
      if (this.retryAction) this.retryAction();
    });
  }

  // -- 1. the link ----------------------------------------------------------

  async open() {
    watchForNewLink();
    this.token = takeToken();
    if (!this.token) {
      this.showFinal(linkProblem("NO_TOKEN"), "TOKEN_INVALID");
      return;
    }
    await this.verify();
  }

  async verify() {
    this.view.show({
      phase: "loading",
      icon: "progress",
      title: "Opening your interview…",
      text: "Checking your interview link.",
    });
    let answer;
    try {
      answer = await openSession(this.token);
    } catch (err) {
      this.linkFailed(err);
      return;
    }
    this.accept(answer);
    if (this.consent.required && !this.consent.accepted) this.showConsent();
    else this.checkMicrophone();
  }

  accept(answer) {
    this.ticket = answer.ticket;
    this.iceServers = Array.isArray(answer.ice_servers) ? answer.ice_servers : [];
    this.session = answer.session || {};
    this.consent = answer.consent || { required: false, accepted: true };
    ui.roleName.textContent = this.session.role_name || "Interview";
    ui.roleLanguage.textContent = languageName(this.session.language);
    ui.roleLine.hidden = false;
    const budgetSec = Number(this.session.max_duration_sec) || 0;
    const extraPct = Number(this.session.extra_time_pct) || 0;
    const note = durationNote(this.session.language, budgetSec, extraPct);
    const language = this.session.language || "en";
    ui.tipDuration.hidden = budgetSec <= 0;
    ui.tipDuration.lang = language;
    ui.tipDuration.textContent = note.takes;
    ui.tipExtraTime.hidden = budgetSec <= 0 || !note.extra;
    ui.tipExtraTime.lang = language;
    ui.tipExtraTime.textContent = note.extra;
  }

  linkFailed(err) {
    const code = err instanceof ApiError ? err.code : "UNEXPECTED";
    const screen = linkProblem(code, err instanceof ApiError ? err.details : {});
    if (screen.retry) this.retryAction = () => this.verify();
    else forgetToken();
    this.showFinal(screen, code);
  }

  // -- 2. consent -------------------------------------------------------------

  showConsent() {
    ui.consentText.textContent = this.consent.text || "";
    ui.consentBox.checked = false;
    this.consentProblem(null);
    this.view.show({
      phase: "consent",
      icon: "none",
      title: "Before you begin",
      text: "Please read how your interview is recorded and used.",
      panels: ["consent"],
    });
  }

  async submitConsent() {
    if (!ui.consentBox.checked) {
      this.consentProblem("Please tick the box to agree before you continue.");
      ui.consentBox.focus();
      return;
    }
    ui.consentContinue.disabled = true;
    try {
      await recordConsent(this.ticket, this.consent.version);
    } catch (err) {
      ui.consentContinue.disabled = false;
      if (err instanceof ApiError && !err.transient) {
        // The ticket expired or the text changed: verify again and show the current text.
        await this.verify();
        return;
      }
      this.consentProblem("We couldn't save your answer. Check your connection and press Continue again.");
      return;
    }
    ui.consentContinue.disabled = false;
    this.consent.accepted = true;
    this.checkMicrophone();
  }

  consentProblem(message) {
    ui.consentError.textContent = message || "";
    ui.consentError.hidden = !message;
    if (message) ui.consentBox.setAttribute("aria-invalid", "true");
    else ui.consentBox.removeAttribute("aria-invalid");
  }

  // -- 3. the microphone ------------------------------------------------------

  async checkMicrophone(deviceId = null) {
    ui.micHelp.hidden = true;
    if (!this.stream) {
      ui.micCheck.hidden = true;
      this.view.show({
        phase: "device",
        icon: "mic",
        title: "Allow your microphone",
        text: "Your browser will ask to use your microphone. Please choose Allow.",
        panels: ["device"],
      });
    }
    let stream;
    try {
      stream = await openMicrophone(deviceId);
    } catch (err) {
      this.microphoneFailed(err);
      return;
    }
    this.useStream(stream);
    await this.engine.resume();
    this.showReady();
    this.fillMicrophoneList();
  }

  useStream(stream) {
    const previous = this.stream;
    this.stream = stream;
    this.engine.attachMicrophone(stream);
    if (this.connection) this.connection.useMicrophone(stream);
    stopStream(previous);
    for (const track of stream.getAudioTracks()) {
      track.addEventListener("ended", () => this.microphoneLost(stream));
    }
    this.startMeter();
  }

  showReady() {
    const rejoin = Boolean(this.session.live) || this.wasLive;
    delete this.body().dataset.micError;
    ui.micCheck.hidden = false;
    ui.micActivate.hidden = this.engine.running;
    ui.startButton.disabled = false;
    ui.startButton.textContent = rejoin ? "Rejoin interview" : "Start interview";
    this.view.show({
      phase: "ready",
      icon: "mic",
      title: rejoin ? "Rejoin your interview" : "Check your microphone",
      text: rejoin
        ? "Your interview is still open. Press Rejoin to continue where you left off."
        : "When the bar moves as you speak, you're all set. The interviewer will greet you first.",
      panels: ["device"],
    });
  }

  microphoneFailed(err) {
    const help = microphoneHelp(err.kind);
    this.body().dataset.micError = err.browserName || err.kind || "Error";
    ui.micHelpSteps.replaceChildren(
      ...help.steps.map((step) => {
        const item = document.createElement("li");
        item.textContent = step;
        return item;
      }),
    );
    ui.micHelpSteps.hidden = help.steps.length === 0;
    ui.micHelp.hidden = false;
    ui.micCheck.hidden = true;
    ui.micRetry.hidden = err.kind === "unsupported";
    this.view.show({ phase: "device", icon: "warn", title: help.title, text: help.text, panels: ["device"] });
  }

  async fillMicrophoneList() {
    const inputs = await listMicrophones();
    ui.micSelectField.hidden = inputs.length < 2;
    if (inputs.length < 2) return;
    const current = this.stream && this.stream.getAudioTracks()[0];
    const currentId = current && current.getSettings ? current.getSettings().deviceId : "";
    ui.micSelect.replaceChildren(
      ...inputs.map((device, index) => {
        const option = document.createElement("option");
        option.value = device.deviceId;
        option.textContent = device.label || `Microphone ${index + 1}`;
        option.selected = device.deviceId === currentId;
        return option;
      }),
    );
  }

  async microphoneLost(stream) {
    if (stream !== this.stream || this.finished) return;
    const phase = this.body().dataset.phase;
    if (phase === "live" || phase === "waiting" || phase === "reconnecting") {
      this.view.announce("Your microphone was disconnected. Trying to reconnect it.");
      try {
        this.useStream(await openMicrophone());
        this.view.announce("Microphone reconnected.");
      } catch {
        this.view.updateText("We lost your microphone. Check that it is connected.", { announce: true });
      }
      return;
    }
    this.stream = null;
    this.microphoneFailed({ kind: "missing", browserName: "TrackEnded" });
  }

  startMeter() {
    if (this.meterFrame !== null) return;
    const tick = (now) => {
      this.meterFrame = requestAnimationFrame(tick);
      const level = this.engine.level();
      const scale = `scaleX(${level.toFixed(3)})`;
      ui.levelBar.style.transform = scale;
      ui.liveLevelBar.style.transform = scale;
      if (now - this.meterAriaAt > METER_ARIA_INTERVAL_MS) {
        this.meterAriaAt = now;
        ui.meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
      }
      if (!this.heard && level > HEARD_LEVEL) {
        this.heard = true;
        ui.micFeedback.textContent = "We can hear you — your microphone is working.";
        ui.micFeedback.classList.add("is-ok");
        if (this.body().dataset.phase === "ready") this.view.announce(ui.micFeedback.textContent);
      }
    };
    this.meterFrame = requestAnimationFrame(tick);
  }

  stopMeter() {
    if (this.meterFrame !== null) cancelAnimationFrame(this.meterFrame);
    this.meterFrame = null;
  }

  // -- 4. the interview -------------------------------------------------------

  async startInterview() {
    ui.startButton.disabled = true;
    ui.startButton.textContent = "Connecting…";
    ui.startError.hidden = true;
    try {
      await this.engine.start();
    } catch (err) {
      ui.startButton.disabled = false;
      ui.startButton.textContent = "Start interview";
      ui.startError.textContent =
        "Your browser couldn't start audio. Please reload the page, or try an up-to-date Chrome, Edge, Firefox or Safari.";
      ui.startError.hidden = false;
      this.debug.note(`audio start failed: ${err && err.message ? err.message : err}`);
      return;
    }
    ui.micActivate.hidden = true;
    this.view.announce("Connecting to your interview…");
    this.engine.onFrame = (frame) => {
      if (this.connection) this.connection.sendAudio(frame);
    };
    this.connect();
  }

  connect() {
    if (this.connection) this.connection.close();
    this.connection = new LiveConnection({
      transports: this.transports,
      ticket: this.ticket,
      microphone: this.stream,
      reverify: () => this.reverify(),
      handlers: {
        state: (state) => this.connectionState(state),
        transport: (choice) => this.transportChosen(choice),
        waiting: (event) => this.waiting(event),
        live: (event) => this.live(event),
        event: (event) => this.liveEvent(event),
        audio: (frame) => this.engine.playFrame(frame),
        ended: (reason) => this.ended(reason),
        failed: (code) => this.connectionFailed(code),
      },
    });
    this.connection.start();
  }

  /** A fresh ticket for a reconnect; null once a final screen is shown. */
  async reverify() {
    try {
      this.accept(await openSession(this.token));
      return this.ticket;
    } catch (err) {
      if (err instanceof ApiError && !err.transient) {
        const screen = linkProblem(err.code, err.details);
        if (!screen.retry) forgetToken();
        this.finish();
        this.showFinal(screen, err.code);
        return null;
      }
      throw err;
    }
  }

  connectionState(state) {
    if (state === ConnectionState.RECONNECTING) {
      this.engine.flushPlayback();
      this.view.show({
        phase: "reconnecting",
        icon: "progress",
        title: "Reconnecting…",
        text: "Your connection dropped. We're reconnecting you — the interview will continue where it left off.",
        panels: this.wasLive ? ["live"] : [],
      });
      this.setTalkState("reconnecting", "Reconnecting…");
      this.view.announce("Connection lost. Reconnecting…");
    }
  }

  transportChosen(choice) {
    const data = this.body().dataset;
    data.transport = choice.kind;
    if (choice.fallbackReason) data.transportFallback = choice.fallbackReason;
    else delete data.transportFallback;
    this.debug.refresh();
  }

  waiting(event) {
    const position = Math.max(1, Number(event.position) || 1);
    const text = `All interview rooms are busy — you are number ${position} in line; we'll start automatically.`;
    if (this.body().dataset.phase !== "waiting") {
      this.view.show({ phase: "waiting", icon: "progress", title: "Please wait a moment", text });
    } else if (position !== this.lastPosition) {
      this.view.updateText(text, { announce: true });
    }
    this.body().dataset.waitingPosition = String(position);
    this.lastPosition = position;
  }

  live(event) {
    delete this.body().dataset.waitingPosition;
    this.lastPosition = null;
    const resumed = this.wasLive || event.resumed === true;
    this.wasLive = true;
    ui.endButton.disabled = false;
    // The gateway sends `state` on changes only, so after a reconnect the old one is unknown.
    if (!TALK_STATES[this.talkState]) this.setTalkState("connected", "Connected");
    this.view.show({
      phase: "live",
      icon: "none",
      title: "Interview in progress",
      text: "Speak naturally. The interviewer listens while you talk and waits for you to finish.",
      panels: ["live"],
    });
    this.setTimer(event.remaining_sec);
    if (resumed) this.view.announce("Reconnected. The interview continues.");
  }

  liveEvent(event) {
    switch (event.type) {
      case "caption":
        this.captions.show(event);
        break;
      case "state":
        if (TALK_STATES[event.state]) this.setTalkState(event.state, TALK_STATES[event.state]);
        break;
      case "timer":
        this.setTimer(event.remaining_sec);
        break;
      case "error":
        this.debug.note(`${event.code}: ${event.message}`);
        break;
      default:
        break;
    }
  }

  setTalkState(state, label) {
    this.talkState = state;
    ui.state.dataset.state = state;
    ui.stateText.textContent = label;
  }

  setTimer(remaining) {
    const seconds = Math.max(0, Math.floor(Number(remaining)));
    if (!Number.isFinite(seconds)) return;
    ui.timer.textContent = clock(seconds);
    ui.timer.dataset.remainingSec = String(seconds);
    ui.timer.classList.toggle("is-low", seconds <= LOW_TIME_SEC);
    for (const mark of TIME_WARNINGS_SEC) {
      if (seconds <= mark && seconds > mark - 5 && !this.warned.has(mark)) {
        this.warned.add(mark);
        this.view.announce(`${mark / 60} minute${mark === 60 ? "" : "s"} left.`);
      }
    }
  }

  endInterview() {
    if (!this.connection) return;
    ui.endButton.disabled = true;
    this.setTalkState("ending", "Ending…");
    this.view.updateText("Ending the interview…", { announce: true });
    this.connection.end();
  }

  ended(reason) {
    const screen = endScreen(reason);
    forgetToken();
    this.finish();
    this.showFinal({ ...screen, phase: "ended" }, reason);
  }

  connectionFailed(code) {
    if (code === "CONSENT_REQUIRED") {
      this.verify();
      return;
    }
    const screen = connectionProblem(code);
    if (code === "SUPERSEDED") {
      // Another tab holds the interview now: let go of the microphone here, and
      // "Continue here" starts over (verify, then Rejoin) like a reload.
      this.finish();
      this.retryAction = () => window.location.reload();
    } else {
      this.retryAction = () => this.connection.retry();
    }
    this.debug.refresh();
    this.view.show({
      phase: "error",
      icon: "warn",
      title: screen.title,
      text: screen.text,
      retry: screen.retry,
      reason: code,
    });
  }

  /** Release the microphone and stop audio once the interview can't continue. */
  finish() {
    if (this.finished) return;
    this.finished = true;
    this.stopMeter();
    if (this.connection) this.connection.close();
    if (ui.endDialog.open) ui.endDialog.close();
    stopStream(this.stream);
    this.stream = null;
    const engine = this.engine;
    engine.onFrame = null;
    setTimeout(() => engine.close(), PLAYOUT_TAIL_MS);
  }

  showFinal(screen, reason) {
    this.retryAction = screen.retry ? this.retryAction : null;
    this.debug.refresh();
    this.view.show({
      phase: screen.phase || "ended",
      icon: screen.icon || "warn",
      title: screen.title,
      text: screen.text,
      retry: screen.retry,
      reason,
    });
  }

  // -- debug ------------------------------------------------------------------

  stats() {
    return {
      connection: this.connection ? this.connection.stats : null,
      sampleRate: this.engine.sampleRate,
      audioState: this.engine.context ? this.engine.context.state : "none",
      // Over WebRTC the interviewer plays through <audio>; the connection describes it.
      playback: this.transports.kind === "websocket" ? this.engine.playback : null,
    };
  }

  body() {
    return document.body;
  }
}

function clock(total) {
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const mm = String(minutes).padStart(hours ? 2 : 1, "0");
  const ss = String(seconds).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

new CandidatePage().open();
