/**
 * The page's audio graph, in one AudioContext at 24 kHz (the protocol's rate):
 *
 *   microphone ─▶ analyser                (level meter)
 *              └▶ capture worklet ─▶ onFrame(960-byte PCM16 frame)
 *   playFrame(frame) ─▶ player worklet ─▶ speakers
 *
 * The context is created when the microphone is first attached (it may
 * start suspended: browsers only let a user gesture start audio) and is
 * resumed by `start()`, which must be called from the Start click.
 */

const PROTOCOL_RATE = 24000;
const ANALYSER_SIZE = 1024;
// RMS is mapped to 0..1 on a dB scale between these bounds.
const LEVEL_FLOOR_DB = -60;
const LEVEL_CEIL_DB = -10;

export class AudioEngine {
  constructor() {
    this.context = null;
    this.source = null;
    this.analyser = null;
    this.capture = null;
    this.player = null;
    this.modulesLoaded = false;
    this.samples = new Float32Array(ANALYSER_SIZE);
    /** Called with each captured 960-byte ArrayBuffer once `start()` resolved. */
    this.onFrame = null;
    this.playback = { bufferedMs: 0, underruns: 0, droppedMs: 0, playing: false };
  }

  get running() {
    return this.context !== null && this.context.state === "running";
  }

  get sampleRate() {
    return this.context ? this.context.sampleRate : 0;
  }

  /** Route `stream` into the graph (replacing any earlier microphone). */
  attachMicrophone(stream) {
    this.ensureContext();
    if (this.source) this.source.disconnect();
    try {
      this.source = this.context.createMediaStreamSource(stream);
    } catch (err) {
      // Some browsers cannot mix a microphone into a context at another rate:
      // fall back to the device rate; the worklets resample.
      if (this.capture || this.player) throw err;
      this.context.close();
      this.context = new AudioContext();
      this.analyser = null;
      this.ensureContext();
      this.source = this.context.createMediaStreamSource(stream);
    }
    this.source.connect(this.analyser);
    if (this.capture) this.source.connect(this.capture);
  }

  /** Try to let the context run (succeeds without a gesture in some browsers). */
  async resume() {
    if (!this.context) return false;
    if (this.context.state === "suspended") {
      try {
        await this.context.resume();
      } catch {
        return false;
      }
    }
    return this.running;
  }

  /** Resume the context and build capture and playback. Call from a user gesture. */
  async start() {
    this.ensureContext();
    const resumed = this.context.resume();
    if (!this.modulesLoaded) {
      await this.context.audioWorklet.addModule("/static/capture-worklet.js");
      await this.context.audioWorklet.addModule("/static/player-worklet.js");
      this.modulesLoaded = true;
    }
    await resumed;
    if (!this.capture) {
      this.capture = new AudioWorkletNode(this.context, "zenhire-capture", {
        numberOfInputs: 1,
        numberOfOutputs: 0,
        channelCount: 1,
        channelCountMode: "explicit",
      });
      this.capture.port.onmessage = (event) => {
        if (this.onFrame) this.onFrame(event.data);
      };
      if (this.source) this.source.connect(this.capture);
    }
    if (!this.player) {
      this.player = new AudioWorkletNode(this.context, "zenhire-player", {
        numberOfInputs: 0,
        numberOfOutputs: 1,
        outputChannelCount: [1],
      });
      this.player.port.onmessage = (event) => {
        if (event.data && event.data.type === "stats") this.playback = event.data;
      };
      this.player.connect(this.context.destination);
    }
  }

  /** Queue one interviewer frame (an ArrayBuffer of PCM16 at 24 kHz). */
  playFrame(frame) {
    if (this.player) this.player.port.postMessage(frame, [frame]);
  }

  flushPlayback() {
    if (this.player) this.player.port.postMessage({ type: "flush" });
  }

  /** Microphone level, 0..1 (0 while the context is not running). */
  level() {
    if (!this.analyser || !this.running) return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (let i = 0; i < this.samples.length; i += 1) sum += this.samples[i] * this.samples[i];
    const rms = Math.sqrt(sum / this.samples.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : LEVEL_FLOOR_DB;
    return Math.min(1, Math.max(0, (db - LEVEL_FLOOR_DB) / (LEVEL_CEIL_DB - LEVEL_FLOOR_DB)));
  }

  /** Stop everything; the engine can't be used afterwards. */
  async close() {
    this.onFrame = null;
    const context = this.context;
    this.context = this.source = this.analyser = this.capture = this.player = null;
    if (context && context.state !== "closed") {
      try {
        await context.close();
      } catch {
        // Already closing.
      }
    }
  }

  ensureContext() {
    if (!this.context) {
      try {
        this.context = new AudioContext({ sampleRate: PROTOCOL_RATE, latencyHint: "interactive" });
      } catch {
        this.context = new AudioContext({ latencyHint: "interactive" });
      }
    }
    if (!this.analyser) {
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = ANALYSER_SIZE;
    }
  }
}
