/**
 * Microphone capture: mono PCM16 frames of 20 ms at 24 kHz (480 samples,
 * 960 bytes), posted to the main thread as transferable ArrayBuffers.
 *
 * The page asks for a 24 kHz AudioContext so the browser does the
 * resampling; where it cannot (a context at the device rate), frames are
 * resampled here by linear interpolation, which is plenty for speech.
 */

const TARGET_RATE = 24000;
const FRAME_SAMPLES = 480;
// Input kept between render quanta while resampling: a few quanta suffice.
const PENDING_CAPACITY = 4096;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.pending = new Float32Array(PENDING_CAPACITY);
    this.pendingLength = 0;
    this.position = 0;
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true; // nothing connected (yet)
    const mono = mixDown(input);
    if (this.step === 1) {
      for (let i = 0; i < mono.length; i += 1) this.push(mono[i]);
    } else {
      this.resample(mono);
    }
    return true;
  }

  resample(samples) {
    if (this.pendingLength + samples.length > this.pending.length) {
      this.pendingLength = 0; // cannot happen with sane rates; never grow without bound
      this.position = 0;
    }
    this.pending.set(samples, this.pendingLength);
    this.pendingLength += samples.length;
    while (this.position + 1 < this.pendingLength) {
      const index = Math.floor(this.position);
      const frac = this.position - index;
      this.push(this.pending[index] * (1 - frac) + this.pending[index + 1] * frac);
      this.position += this.step;
    }
    const consumed = Math.min(Math.floor(this.position), this.pendingLength);
    this.pending.copyWithin(0, consumed, this.pendingLength);
    this.pendingLength -= consumed;
    this.position -= consumed;
  }

  push(sample) {
    const clamped = sample > 1 ? 1 : sample < -1 ? -1 : sample;
    this.frame[this.filled] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
    this.filled += 1;
    if (this.filled === FRAME_SAMPLES) {
      const buffer = this.frame.buffer;
      this.port.postMessage(buffer, [buffer]);
      this.frame = new Int16Array(FRAME_SAMPLES);
      this.filled = 0;
    }
  }
}

function mixDown(channels) {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const channel of channels) {
    for (let i = 0; i < out.length; i += 1) out[i] += channel[i] / channels.length;
  }
  return out;
}

registerProcessor("zenhire-capture", CaptureProcessor);
