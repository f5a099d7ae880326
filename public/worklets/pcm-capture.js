/**
 * AudioWorklet processor of lib/client/media/pcm-capture.ts: the microphone
 * as 16-bit PCM at a lower sample rate (16 kHz for speech recognition), in
 * chunks of a fixed duration (100 ms), posted to the main thread as
 * transferred Int16Array buffers.
 *
 * Plain JavaScript served from public/ (the page's CSP allows worklet modules
 * from 'self' only, not blob: or data: URLs).
 *
 * Downsampling: each output sample is the mean of the input samples in its
 * window (a box filter, a cheap low-pass that keeps aliasing down well enough
 * for a recogniser), with the fractional position carried across blocks so
 * any input rate works (48 kHz -> 16 kHz averages exactly 3).
 *
 * processorOptions: { outputRate: number, chunkSamples: number }
 * Messages in: "flush" (post what is buffered), "stop" (end the processor).
 */
class PcmCaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = (options && options.processorOptions) || {};
    this.outputRate = o.outputRate || 16000;
    this.chunkSamples = o.chunkSamples || 1600;
    // Input samples per output sample (sampleRate is the context's rate, a worklet global).
    this.step = sampleRate / this.outputRate;
    this.acc = 0; // sum of input samples in the current window
    this.count = 0; // how many
    this.pos = 0; // input samples consumed in the current window, fractional end at this.step
    this.chunk = new Int16Array(this.chunkSamples);
    this.filled = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data === "flush") this.post();
      else if (event.data === "stop") {
        this.post();
        this.running = false;
      }
    };
  }

  post() {
    if (this.filled === 0) return;
    const out = this.chunk.slice(0, this.filled);
    this.port.postMessage(out, [out.buffer]);
    this.filled = 0;
  }

  emit(value) {
    const clamped = value > 1 ? 1 : value < -1 ? -1 : value;
    this.chunk[this.filled++] = clamped < 0 ? Math.round(clamped * 32768) : Math.round(clamped * 32767);
    if (this.filled === this.chunkSamples) {
      const out = this.chunk;
      this.port.postMessage(out, [out.buffer]);
      this.chunk = new Int16Array(this.chunkSamples);
      this.filled = 0;
    }
  }

  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0];
    // No input connected yet (or the track ended): keep the processor alive, nothing to do.
    if (!input || input.length === 0) return true;
    const channels = input.length;
    const frames = input[0].length;
    for (let i = 0; i < frames; i++) {
      let sample = 0;
      for (let c = 0; c < channels; c++) sample += input[c][i];
      sample /= channels;
      this.acc += sample;
      this.count++;
      this.pos += 1;
      if (this.pos >= this.step) {
        this.emit(this.acc / this.count);
        this.acc = 0;
        this.count = 0;
        this.pos -= this.step;
      }
    }
    return true;
  }
}

registerProcessor("earshot-pcm-capture", PcmCaptureProcessor);
