/**
 * In-page instrumentation for the e2e tests and the benchmarks (test-only:
 * added with `context.addInitScript`, it runs before the app's scripts).
 * These functions are serialized into the page: no imports, no closures.
 */

declare global {
  interface Window {
    __earshotPeers?: RTCPeerConnection[];
    __earshotProbe?: () => { rms: number; peakHz: number } | null;
    /** Every WebSocket the page opened (control channel and signaling), for the reliability tests. */
    __earshotSockets?: { url: string; socket: WebSocket; createdAt: number; openedAt?: number; closedAt?: number; closeCode?: number }[];
    /** performance.now() (ms since navigation start) when played audio first rose above the threshold. */
    __earshotFirstAudio?: number;
  }
}

/**
 * Keeps every RTCPeerConnection the page creates (to read getStats), and a
 * probe that measures the audio the page plays: the `<audio>` element's
 * stream through an AnalyserNode of its own, for level (RMS) and the
 * dominant frequency.
 */
export function instrumentPage(): void {
  const peers: RTCPeerConnection[] = [];
  window.__earshotPeers = peers;
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = new Proxy(Native, {
    construct(target, args: ConstructorParameters<typeof RTCPeerConnection>) {
      const pc = new target(...args);
      peers.push(pc);
      return pc;
    },
  });

  const sockets: NonNullable<Window["__earshotSockets"]> = [];
  window.__earshotSockets = sockets;
  window.WebSocket = new Proxy(window.WebSocket, {
    construct(target, args: ConstructorParameters<typeof WebSocket>) {
      const socket = new target(...args);
      const record: (typeof sockets)[number] = { url: String(args[0]), socket, createdAt: Date.now() };
      socket.addEventListener("open", () => (record.openedAt = Date.now()));
      socket.addEventListener("close", (event) => {
        record.closedAt = Date.now();
        record.closeCode = event.code;
      });
      sockets.push(record);
      return socket;
    },
  });

  let ctx: AudioContext | undefined;
  let probed: { stream: MediaStream; analyser: AnalyserNode } | undefined;
  window.__earshotProbe = () => {
    const el = document.querySelector<HTMLAudioElement>("audio[data-earshot-playback]");
    const stream = el?.srcObject instanceof MediaStream ? el.srcObject : undefined;
    if (!stream || stream.getAudioTracks().length === 0) return null;
    ctx ??= new AudioContext();
    if (ctx.state === "suspended") void ctx.resume();
    if (probed?.stream !== stream) {
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      ctx.createMediaStreamSource(stream).connect(analyser);
      probed = { stream, analyser };
    }
    const { analyser } = probed;
    const time = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(time);
    let sum = 0;
    for (const s of time) sum += s * s;
    const freq = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(freq);
    let peak = 0;
    for (let i = 1; i < freq.length; i++) if (freq[i]! > freq[peak]!) peak = i;
    return { rms: Math.sqrt(sum / time.length), peakHz: (peak * ctx.sampleRate) / analyser.fftSize };
  };
}

/**
 * For the join benchmark: on every animation frame, the RMS of the last
 * 512 samples the page plays; the first frame above `threshold` sets
 * window.__earshotFirstAudio. Measures what a person would hear, from the
 * navigation's start (performance.now()'s zero).
 */
export function watchFirstAudio(threshold: number): void {
  let ctx: AudioContext | undefined;
  let current: { stream: MediaStream; analyser: AnalyserNode; buf: Float32Array<ArrayBuffer> } | undefined;
  // Creating an AudioContext takes tens of ms in a fresh renderer: do it while the page idles, not when the audio arrives.
  requestIdleCallback(() => (ctx ??= new AudioContext()), { timeout: 2000 });
  const frame = () => {
    if (window.__earshotFirstAudio !== undefined) return;
    const el = document.querySelector<HTMLAudioElement>("audio[data-earshot-playback]");
    const stream = el?.srcObject instanceof MediaStream ? el.srcObject : undefined;
    if (stream && stream.getAudioTracks().length > 0) {
      ctx ??= new AudioContext();
      if (current?.stream !== stream) {
        const analyser = ctx.createAnalyser();
        analyser.fftSize = 512;
        analyser.smoothingTimeConstant = 0;
        ctx.createMediaStreamSource(stream).connect(analyser);
        current = { stream, analyser, buf: new Float32Array(analyser.fftSize) };
      }
      current.analyser.getFloatTimeDomainData(current.buf);
      let sum = 0;
      for (const s of current.buf) sum += s * s;
      if (Math.sqrt(sum / current.buf.length) > threshold) {
        window.__earshotFirstAudio = performance.now();
        return;
      }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}
