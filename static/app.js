/**
 * The candidate page: link check → consent → microphone check → interview → end.
 *
 * Phases (document.body.dataset.phase): loading, invalid, consent, device,
 * ready, waiting, live, reconnecting, ended, error. On the microphone check
 * the readiness check runs (readiness.js; body data-readiness: running,
 * done, skipped; data-echo: low, strong, failed; data-network-transport) and
 * its results go to the gateway when the interview starts. Missing browser
 * features set data-browser-missing. After the interview the end screen may
 * ask for a rating (data-rating: open, sent, skipped, failed). Final screens also set
 * document.body.dataset.endReason (an `ended` reason or an error code).
 * Once connecting, document.body.dataset.transport is `webrtc` or
 * `websocket`, and dataset.transportFallback says why WebRTC was given up.
 */

import { ApiError, openSession, recordConsent, recordReadiness } from "./api.js";
import { AudioEngine } from "./audio.js";
import { Captions } from "./captions.js";
import { checkWords } from "./check-messages.js";
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
import { READINESS_VERSION, STRONG_ECHO_DB, browserSupport, measureEcho, probeNetwork } from "./readiness.js";
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
const RATING_SCORES = [1, 2, 3, 4, 5];
const RATING_COMMENT_MAX = 1000;
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
  readiness: $("readiness"),
  readinessTitle: $("readiness-title"),
  readinessIntro: $("readiness-intro"),
  readinessLive: $("readiness-live"),
  readinessSkip: $("readiness-skip"),
  readinessSkipped: $("readiness-skipped"),
  checkBrowser: $("check-browser"),
  checkBrowserName: $("check-browser-name"),
  checkBrowserText: $("check-browser-text"),
  checkNetwork: $("check-network"),
  checkNetworkName: $("check-network-name"),
  checkNetworkText: $("check-network-text"),
  networkAgain: $("network-again"),
  checkEcho: $("check-echo"),
  checkEchoName: $("check-echo-name"),
  checkEchoText: $("check-echo-text"),
  echoTest: $("echo-test"),
  headphones: $("headphones"),
  headphonesTitle: $("headphones-title"),
  headphonesText: $("headphones-text"),
  ratingPanel: $("panel-rating"),
  ratingForm: $("rating-form"),
  ratingTitle: $("rating-title"),
  ratingIntro: $("rating-intro"),
  ratingLegend: $("rating-legend"),
  ratingScores: $("rating-scores"),
  ratingCommentLabel: $("rating-comment-label"),
  ratingComment: $("rating-comment"),
  ratingLeft: $("rating-left"),
  ratingError: $("rating-error"),
  ratingSkip: $("rating-skip"),
  ratingSend: $("rating-send"),
  ratingDone: $("rating-done"),
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
    this.check = newCheck();
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
    ui.readinessSkip.addEventListener("click", () => this.skipReadiness());
    ui.networkAgain.addEventListener("click", () => this.checkNetwork());
    ui.echoTest.addEventListener("click", () => this.checkEcho());
    ui.ratingForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendRating();
    });
    ui.ratingSkip.addEventListener("click", () => this.skipRating());
    ui.ratingComment.addEventListener("input", () => this.countComment());
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
    if (!this.browserUsable()) return;
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
    if (rejoin) {
      // The interview already runs with the results of the first check.
      ui.readiness.hidden = true;
      ui.readinessSkipped.hidden = true;
    } else {
      this.startReadiness();
    }
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
    if (err.kind === "unsupported") help.text = this.words().noMicrophone;
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
    await this.sendReadiness();
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
        ended: (reason, details) => this.ended(reason, details),
        rating: (outcome) => this.ratingAnswered(outcome),
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
      case "history":
        this.captions.restore(event);
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

  ended(reason, { ratingWindowSec = 0 } = {}) {
    const screen = endScreen(reason);
    forgetToken();
    this.finish({ keepConnection: ratingWindowSec > 0 });
    this.showFinal({ ...screen, phase: "ended" }, reason);
    if (ratingWindowSec > 0) this.offerRating();
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
  finish({ keepConnection = false } = {}) {
    if (this.finished) return;
    this.finished = true;
    this.stopMeter();
    if (this.connection && !keepConnection) this.connection.close();
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

  // -- the readiness check -----------------------------------------------------

  words() {
    return checkWords(this.session ? this.session.language : "en");
  }

  /** False (with a screen saying which piece is missing) when the interview can't run here. */
  browserUsable() {
    const support = browserSupport();
    this.check.browser = support;
    const missing = Object.keys(support).filter((key) => !support[key]);
    if (missing.length) this.body().dataset.browserMissing = missing.join(" ");
    else delete this.body().dataset.browserMissing;
    if (support.audio_worklet) return true;
    const words = this.words();
    this.showFinal({ phase: "device", icon: "warn", title: words.noWorkletTitle, text: words.noWorklet }, "BROWSER_UNSUPPORTED");
    return false;
  }

  startReadiness() {
    if (this.check.started) return;
    this.check.started = true;
    const words = this.words();
    ui.readiness.lang = ui.readinessSkipped.lang = words.lang;
    ui.readinessTitle.textContent = words.title;
    ui.readinessIntro.textContent = words.intro;
    ui.readinessSkip.textContent = words.skip;
    ui.checkBrowserName.textContent = words.browser;
    ui.checkNetworkName.textContent = words.network;
    ui.checkEchoName.textContent = words.echo;
    ui.networkAgain.textContent = words.networkAgain;
    ui.headphonesTitle.textContent = words.headphonesTitle;
    const browser = this.check.browser;
    setCheck(ui.checkBrowser, ui.checkBrowserText, browser.webrtc ? "ok" : "warn", browser.webrtc ? words.browserOk : words.noWebrtc);
    setCheck(ui.checkEcho, ui.checkEchoText, "pending", words.echoIntro);
    ui.echoTest.textContent = words.echoPlay;
    ui.readiness.hidden = false;
    this.body().dataset.readiness = "running";
    this.checkNetwork();
  }

  async checkNetwork() {
    const words = this.words();
    const round = (this.check.networkRound += 1);
    ui.networkAgain.hidden = true;
    setCheck(ui.checkNetwork, ui.checkNetworkText, "running", words.networkChecking);
    const network = await probeNetwork({ iceServers: this.iceServers, webrtc: this.check.browser.webrtc });
    if (round !== this.check.networkRound || this.check.skipped) return;
    this.check.network = network;
    this.body().dataset.networkTransport = network.transport;
    const rtt = network.rtt_ms === null ? "" : ` ${words.roundTrip(Math.round(network.rtt_ms))}`;
    if (network.transport === "webrtc") {
      setCheck(ui.checkNetwork, ui.checkNetworkText, "ok", words.networkWebrtc + rtt);
    } else if (network.transport === "websocket") {
      // Only before the interview starts: a running connection keeps its transport.
      if (!this.connection && this.transports.prefer("websocket", "no ICE candidates gathered")) {
        this.transportChosen(this.transports);
      }
      setCheck(ui.checkNetwork, ui.checkNetworkText, "ok", words.networkWebsocket + rtt);
    } else {
      setCheck(ui.checkNetwork, ui.checkNetworkText, "fail", words.networkNone);
      ui.networkAgain.hidden = false;
    }
    this.readinessSettled();
    this.say(ui.checkNetworkText.textContent);
  }

  async checkEcho() {
    const words = this.words();
    ui.echoTest.disabled = true;
    ui.headphones.hidden = true;
    setCheck(ui.checkEcho, ui.checkEchoText, "running", words.echoPlaying);
    this.say(words.echoPlaying);
    await this.engine.resume();
    let echo;
    try {
      echo = await measureEcho(this.engine.context, this.engine.source);
    } catch (err) {
      this.debug.note(`echo test failed: ${err && err.message ? err.message : err}`);
      echo = { status: "failed", level_db: null };
    }
    ui.echoTest.disabled = false;
    ui.echoTest.textContent = words.echoAgain;
    if (this.check.skipped) return;
    this.check.echo = echo;
    const strong = echo.status === "passed" && echo.level_db >= STRONG_ECHO_DB;
    this.body().dataset.echo = echo.status !== "passed" ? "failed" : strong ? "strong" : "low";
    if (echo.status !== "passed") {
      setCheck(ui.checkEcho, ui.checkEchoText, "warn", words.echoFailed);
    } else if (strong) {
      setCheck(ui.checkEcho, ui.checkEchoText, "warn", words.echoStrong);
      ui.headphones.hidden = false;
      // Set while shown, so the alert is announced.
      ui.headphonesText.textContent = words.headphones;
    } else {
      setCheck(ui.checkEcho, ui.checkEchoText, "ok", words.echoLow);
    }
    this.readinessSettled();
    // The headphone advice is an alert of its own; otherwise say the result.
    if (!strong) this.say(ui.checkEchoText.textContent);
  }

  readinessSettled() {
    if (this.check.network.status !== "skipped" && this.check.echo.status !== "skipped") {
      this.body().dataset.readiness = "done";
    }
  }

  skipReadiness() {
    this.check.skipped = true;
    ui.readiness.hidden = true;
    ui.readinessSkipped.textContent = this.words().skipped;
    ui.readinessSkipped.hidden = false;
    this.body().dataset.readiness = "skipped";
    this.view.announce(ui.readinessSkipped.textContent);
    ui.startButton.focus();
  }

  say(text) {
    ui.readinessLive.textContent = "";
    setTimeout(() => {
      ui.readinessLive.textContent = text;
    }, 50);
  }

  /** The results as the gateway's `readiness` object (section 6 of the protocol). */
  readinessResult() {
    const check = this.check;
    return {
      version: READINESS_VERSION,
      skipped: check.skipped,
      browser: check.browser,
      // What finished before a skip is kept; what did not is "skipped".
      echo: check.echo,
      network: check.network,
    };
  }

  async sendReadiness() {
    if (!this.check.started || this.check.sent) return;
    this.check.sent = true;
    try {
      await recordReadiness(this.ticket, this.readinessResult());
      this.body().dataset.readinessSent = "true";
    } catch (err) {
      // The interview goes ahead as configured by default; the panel says why.
      this.debug.note(`readiness not recorded: ${err.code || err}`);
    }
  }

  // -- the rating -------------------------------------------------------------

  offerRating() {
    const words = this.words();
    ui.ratingPanel.lang = words.lang;
    ui.ratingTitle.textContent = words.rateTitle;
    ui.ratingIntro.textContent = words.rateIntro;
    ui.ratingLegend.textContent = words.rateLegend;
    ui.ratingCommentLabel.textContent = words.rateComment;
    ui.ratingSend.textContent = words.rateSend;
    ui.ratingSkip.textContent = words.rateSkip;
    ui.ratingScores.replaceChildren(
      ...RATING_SCORES.map((score) => {
        const label = document.createElement("label");
        label.className = "star";
        const input = document.createElement("input");
        input.type = "radio";
        input.name = "rating-score";
        input.value = String(score);
        input.dataset.testid = `rating-${score}`;
        input.addEventListener("change", () => this.ratingProblem(null));
        const text = document.createElement("span");
        text.textContent = words.rateScore(score);
        label.append(input, text);
        return label;
      }),
    );
    ui.ratingComment.value = "";
    this.countComment();
    this.ratingProblem(null);
    ui.ratingForm.hidden = false;
    ui.ratingDone.hidden = true;
    ui.ratingPanel.hidden = false;
    this.body().dataset.rating = "open";
  }

  countComment() {
    ui.ratingLeft.textContent = this.words().rateLeft(RATING_COMMENT_MAX - ui.ratingComment.value.length);
  }

  ratingProblem(message) {
    ui.ratingError.textContent = message || "";
    ui.ratingError.hidden = !message;
  }

  sendRating() {
    const chosen = ui.ratingScores.querySelector("input:checked");
    if (!chosen) {
      this.ratingProblem(this.words().rateMissing);
      ui.ratingScores.querySelector("input").focus();
      return;
    }
    const comment = ui.ratingComment.value.trim().slice(0, RATING_COMMENT_MAX);
    this.submitRating({ score: Number(chosen.value), ...(comment ? { comment } : {}) }, "sent");
  }

  skipRating() {
    this.submitRating({ skipped: true }, "skipped");
  }

  submitRating(rating, kind) {
    this.ratingKind = kind;
    ui.ratingSend.disabled = ui.ratingSkip.disabled = true;
    if (!this.connection || !this.connection.rate(rating)) this.ratingAnswered({ type: "closed" });
  }

  ratingAnswered(outcome) {
    const words = this.words();
    ui.ratingSend.disabled = ui.ratingSkip.disabled = false;
    if (outcome.type === "error") {
      this.ratingProblem(outcome.message);
      return;
    }
    if (this.body().dataset.rating !== "open") return;
    if (outcome.type === "rated") {
      this.body().dataset.rating = this.ratingKind;
      if (this.ratingKind === "skipped") {
        ui.ratingPanel.hidden = true;
        return;
      }
      ui.ratingDone.textContent = words.rateThanks;
    } else {
      this.body().dataset.rating = "failed";
      if (!this.ratingKind) {
        // The window passed without an answer: nothing to say.
        ui.ratingPanel.hidden = true;
        return;
      }
      ui.ratingDone.textContent = words.rateFailed;
    }
    ui.ratingForm.hidden = true;
    ui.ratingDone.hidden = false;
    ui.ratingDone.focus();
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

function newCheck() {
  return {
    started: false,
    skipped: false,
    sent: false,
    networkRound: 0,
    browser: browserSupport(),
    network: { status: "skipped" },
    echo: { status: "skipped", level_db: null },
  };
}

/** One row of the readiness list: its status (pending, running, ok, warn, fail) and text. */
function setCheck(row, textElement, status, text) {
  row.dataset.status = status;
  textElement.textContent = text;
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
