/**
 * The readiness check before the interview (docs/candidate-protocol.md, section 6):
 * what the browser supports, which path the network lets the interview take,
 * and how much of a test sound through the speakers the microphone hears.
 *
 * Each check returns plain results (never audio), shaped as the gateway's
 * `readiness` object expects them.
 */

export const READINESS_VERSION = 1;

const WEBSOCKET_PATH = "/api/v1/candidate/ws";
// Gathering waits for every STUN/TURN server; past this the probe takes what it found.
const GATHER_TIMEOUT_MS = 3000;
const PROBE_TIMEOUT_MS = 4000;
const ROUND_TRIPS = 3;
// The echo test: a quiet moment for the room, then three short tones; a tone's
// level in the microphone is read from its own frequency bin after it settles.
const ROOM_MS = 500;
const TONE_MS = 400;
const SETTLE_MS = 150;
const SAMPLE_EVERY_MS = 40;
const TONES_HZ = [750, 1250, 2000];
const TONE_GAIN = 0.25;
const RAMP_SEC = 0.02;
const FFT_SIZE = 2048;
// The gateway calls echo strong from this rise up (gateway/candidate/readiness.py).
export const STRONG_ECHO_DB = 10;

/** What the browser can do, checked without asking for anything. */
export function browserSupport() {
  const context = typeof AudioContext === "function" ? AudioContext : null;
  return {
    audio_worklet:
      context !== null && typeof AudioWorkletNode === "function" && "audioWorklet" in context.prototype,
    get_user_media: Boolean(navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function"),
    webrtc: typeof RTCPeerConnection === "function",
  };
}

/**
 * Probe the interview's paths: ICE gathering with the session's servers (TURN
 * included when configured) and round trips over the interview's WebSocket.
 * Resolves to the `network` result; `transport` is webrtc, websocket or none.
 */
export async function probeNetwork({ iceServers, webrtc }) {
  const turnConfigured = iceServers.some((server) =>
    [].concat(server.urls || []).some((url) => /^turns?:/i.test(String(url))),
  );
  // One after the other: gathering keeps the page busy, which would add to the round trips.
  const candidates = webrtc ? await gatherCandidates(iceServers) : null;
  const rttMs = await websocketRoundTrip();
  const gathered = candidates ? candidates.host + candidates.srflx + candidates.relay : 0;
  let transport = "none";
  if (gathered > 0) transport = "webrtc";
  else if (rttMs !== null) transport = "websocket";
  return {
    status: transport === "none" ? "failed" : "passed",
    transport,
    candidates,
    turn_configured: turnConfigured,
    rtt_ms: rttMs === null ? null : Math.round(rttMs * 10) / 10,
  };
}

async function gatherCandidates(iceServers) {
  const counts = { host: 0, srflx: 0, relay: 0 };
  let pc;
  try {
    pc = new RTCPeerConnection({ iceServers });
  } catch {
    return counts;
  }
  try {
    pc.addEventListener("icecandidate", (event) => {
      const type = event.candidate && (event.candidate.type || (/ typ (\w+)/.exec(event.candidate.candidate) || [])[1]);
      if (type && type in counts) counts[type] += 1;
    });
    pc.createDataChannel("probe");
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
      const check = () => {
        if (pc.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      };
      pc.addEventListener("icegatheringstatechange", check);
      check();
    });
  } catch {
    // A browser that refuses the offer gathers nothing: counts stay as they are.
  } finally {
    pc.close();
  }
  return counts;
}

/** The median round trip of probes over the interview's WebSocket, or null. */
function websocketRoundTrip() {
  return new Promise((resolve) => {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${window.location.host}${WEBSOCKET_PATH}`);
    } catch {
      resolve(null);
      return;
    }
    const trips = [];
    let sentAt = 0;
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close(1000);
      } catch {
        // Already closed.
      }
      resolve(value);
    };
    const timer = setTimeout(() => finish(trips.length ? median(trips) : null), PROBE_TIMEOUT_MS);
    const send = () => {
      sentAt = performance.now();
      socket.send(JSON.stringify({ type: "probe", seq: trips.length }));
    };
    socket.addEventListener("open", send);
    socket.addEventListener("message", (event) => {
      let message = null;
      try {
        message = JSON.parse(event.data);
      } catch {
        message = null;
      }
      if (!message || message.type !== "probe") return;
      trips.push(performance.now() - sentAt);
      if (trips.length >= ROUND_TRIPS) finish(median(trips));
      else send();
    });
    socket.addEventListener("error", () => finish(trips.length ? median(trips) : null));
    socket.addEventListener("close", () => finish(trips.length ? median(trips) : null));
  });
}

/**
 * Play three short tones through the speakers and measure how far each rises
 * above the room in the microphone (`source`, with echo cancellation on).
 * Resolves to the `echo` result; `level_db` is the median rise.
 */
export async function measureEcho(context, source) {
  if (!context || !source || context.state !== "running") return { status: "failed", level_db: null };
  const analyser = context.createAnalyser();
  analyser.fftSize = FFT_SIZE;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  const bins = TONES_HZ.map((hz) => Math.round((hz * FFT_SIZE) / context.sampleRate));
  try {
    const room = await sampleBins(analyser, bins, ROOM_MS);
    const rises = [];
    for (let index = 0; index < TONES_HZ.length; index += 1) {
      const stop = playTone(context, TONES_HZ[index]);
      await sleep(SETTLE_MS);
      const heard = await sampleBins(analyser, [bins[index]], TONE_MS - SETTLE_MS);
      stop();
      rises.push(heard[0] - room[index]);
      await sleep(60);
    }
    return { status: "passed", level_db: Math.round(median(rises) * 10) / 10 };
  } finally {
    source.disconnect(analyser);
  }
}

function playTone(context, hz) {
  const oscillator = context.createOscillator();
  oscillator.frequency.value = hz;
  const gain = context.createGain();
  const now = context.currentTime;
  gain.gain.setValueAtTime(0, now);
  gain.gain.linearRampToValueAtTime(TONE_GAIN, now + RAMP_SEC);
  oscillator.connect(gain);
  gain.connect(context.destination);
  oscillator.start();
  return () => {
    const end = context.currentTime;
    gain.gain.setValueAtTime(TONE_GAIN, end);
    gain.gain.linearRampToValueAtTime(0, end + RAMP_SEC);
    oscillator.stop(end + RAMP_SEC * 2);
  };
}

/** The mean level (dB) at each of `bins` (the loudest of a bin and its neighbours). */
async function sampleBins(analyser, bins, durationMs) {
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const sums = bins.map(() => 0);
  let count = 0;
  const until = performance.now() + durationMs;
  while (performance.now() < until) {
    analyser.getFloatFrequencyData(spectrum);
    bins.forEach((bin, index) => {
      const level = Math.max(spectrum[bin - 1], spectrum[bin], spectrum[bin + 1]);
      sums[index] += Number.isFinite(level) ? level : -160;
    });
    count += 1;
    await sleep(SAMPLE_EVERY_MS);
  }
  return sums.map((sum) => sum / Math.max(1, count));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
