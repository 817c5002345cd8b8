/**
 * Interviewer playback: 20 ms PCM16 frames at 24 kHz in, gap-free audio out.
 *
 * A small jitter buffer absorbs network timing: playback starts once
 * START_MS are buffered; on underrun it outputs silence and buffers again.
 * The buffer is bounded at CAPACITY_MS; beyond it the oldest audio is
 * dropped, so latency never grows past a second. At another output rate the
 * audio is resampled by linear interpolation.
 *
 * Messages in: an ArrayBuffer of PCM16 samples, or {type: "flush"}.
 * Messages out: {type: "stats", bufferedMs, underruns, droppedMs, playing}.
 */

const SOURCE_RATE = 24000;
const START_MS = 60;
const CAPACITY_MS = 1000;
const STATS_INTERVAL_SEC = 0.5;

const START_SAMPLES = (SOURCE_RATE * START_MS) / 1000;
const CAPACITY = (SOURCE_RATE * CAPACITY_MS) / 1000;

class PlayerProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = SOURCE_RATE / sampleRate; // source samples per output sample
    this.ring = new Float32Array(CAPACITY);
    this.readIndex = 0;
    this.writeIndex = 0;
    this.count = 0;
    this.frac = 0;
    this.buffering = true;
    this.underruns = 0;
    this.dropped = 0;
    this.sinceStats = 0;
    this.port.onmessage = (event) => this.receive(event.data);
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      this.write(new Int16Array(data));
    } else if (data && data.type === "flush") {
      this.readIndex = this.writeIndex = this.count = 0;
      this.frac = 0;
      this.buffering = true;
    }
  }

  write(samples) {
    for (let i = 0; i < samples.length; i += 1) {
      if (this.count === CAPACITY) {
        this.readIndex = (this.readIndex + 1) % CAPACITY; // drop the oldest
        this.count -= 1;
        this.dropped += 1;
      }
      this.ring[this.writeIndex] = samples[i] / 32768;
      this.writeIndex = (this.writeIndex + 1) % CAPACITY;
      this.count += 1;
    }
  }

  process(_inputs, outputs) {
    const output = outputs[0];
    const out = output[0];
    if (this.buffering && this.count >= START_SAMPLES) this.buffering = false;
    let i = 0;
    if (!this.buffering) {
      // Interpolation reads one sample ahead, so keep two in hand.
      for (; i < out.length; i += 1) {
        if (this.count < 2) {
          this.buffering = true;
          this.underruns += 1;
          break;
        }
        const next = (this.readIndex + 1) % CAPACITY;
        out[i] = this.ring[this.readIndex] * (1 - this.frac) + this.ring[next] * this.frac;
        this.frac += this.step;
        while (this.frac >= 1 && this.count > 0) {
          this.frac -= 1;
          this.readIndex = (this.readIndex + 1) % CAPACITY;
          this.count -= 1;
        }
      }
    }
    out.fill(0, i);
    for (let c = 1; c < output.length; c += 1) output[c].set(out);
    this.report(out.length);
    return true;
  }

  report(frames) {
    this.sinceStats += frames / sampleRate;
    if (this.sinceStats < STATS_INTERVAL_SEC) return;
    this.sinceStats = 0;
    this.port.postMessage({
      type: "stats",
      bufferedMs: Math.round((this.count / SOURCE_RATE) * 1000),
      underruns: this.underruns,
      droppedMs: Math.round((this.dropped / SOURCE_RATE) * 1000),
      playing: !this.buffering,
    });
  }
}

registerProcessor("zenhire-player", PlayerProcessor);
