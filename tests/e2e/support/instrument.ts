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
    /** performance.now() of the first audio packet (the remote track unmuted). */
    __earshotFirstPacket?: number;
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
 * For the join benchmark: when the played audio first becomes audible, and
 * when its first packet arrived, without running anything per frame on the
 * page's main thread (a rAF loop there would make every frame render and, on
 * a 4x-throttled CPU, cost the page itself hundreds of ms).
 *
 * - First audible: the stream set on any media element goes through an
 *   AudioWorklet (the audio thread, not the throttled main thread) that
 *   computes the RMS of every 512 samples; the first block above `threshold`
 *   posts its context time, converted to performance.now() (zero =
 *   navigation start) with getOutputTimestamp(): the moment it is played.
 *   Only once the element plays: a block that was loud while the element was
 *   paused counts from its `play` event. window.__earshotFirstAudio gets it
 *   and the page logs `earshot:first-audio` to the console (what the
 *   benchmark waits for).
 * - First packet: the peer connection's remote audio track's `unmute` event
 *   (fired on the first RTP packet), its event timestamp, whether or not the
 *   page plays it yet: window.__earshotFirstPacket.
 */
export function watchFirstAudio(threshold: number): void {
  const processor = `registerProcessor("earshot-first-audio", class extends AudioWorkletProcessor {
    constructor() { super(); this.sum = 0; this.n = 0; this.done = false; }
    process(inputs) {
      if (this.done) return false;
      const ch = inputs[0] && inputs[0][0];
      if (ch) {
        for (let i = 0; i < ch.length; i++) this.sum += ch[i] * ch[i];
        this.n += ch.length;
        if (this.n >= 512) {
          if (Math.sqrt(this.sum / this.n) > ${threshold}) { this.done = true; this.port.postMessage(currentTime); }
          this.sum = 0; this.n = 0;
        }
      }
      return true;
    }
  });`;
  let ctx: AudioContext | undefined;
  let ready: Promise<void> | undefined;
  const watched = new WeakSet<MediaStream>();
  // The measuring AudioContext and its worklet cost a throttled page's main thread tens of ms: made when the page
  // has created its peer connection and is idle (waiting for ICE/DTLS), not when the audio arrives, where the
  // measurement would add its own cost to what it measures.
  const prepare = (): { audio: AudioContext; ready: Promise<void> } => {
    ctx ??= new AudioContext();
    ready ??= ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([processor], { type: "text/javascript" })));
    return { audio: ctx, ready };
  };
  window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {
    construct(target, args: ConstructorParameters<typeof RTCPeerConnection>) {
      const pc = new target(...args);
      if (typeof requestIdleCallback === "function") requestIdleCallback(() => void prepare(), { timeout: 500 });
      else setTimeout(prepare, 0);
      pc.addEventListener("track", (event) => {
        const track = event.track;
        if (track.kind !== "audio") return;
        if (!track.muted) window.__earshotFirstPacket ??= performance.now();
        else track.addEventListener("unmute", (e) => (window.__earshotFirstPacket ??= e.timeStamp), { once: true });
      });
      return pc;
    },
  });
  const heard = (at: number) => {
    if (window.__earshotFirstAudio !== undefined) return;
    window.__earshotFirstAudio = at;
    console.debug("earshot:first-audio");
  };
  const analyse = (stream: MediaStream, element: HTMLMediaElement) => {
    if (watched.has(stream) || stream.getAudioTracks().length === 0 || window.__earshotFirstAudio !== undefined) return;
    watched.add(stream);
    const { audio, ready: loaded } = prepare();
    void loaded.then(() => {
      const node = new AudioWorkletNode(audio, "earshot-first-audio");
      const mute = audio.createGain();
      mute.gain.value = 0;
      audio.createMediaStreamSource(stream).connect(node).connect(mute).connect(audio.destination);
      node.port.onmessage = (event: MessageEvent<number>) => {
        if (window.__earshotFirstAudio !== undefined) return;
        const ts = audio.getOutputTimestamp();
        const loudAt = (ts.performanceTime ?? performance.now()) + (event.data - (ts.contextTime ?? audio.currentTime)) * 1000;
        if (!element.paused && element.srcObject === stream) heard(loudAt);
        else element.addEventListener("play", (e) => heard(Math.max(loudAt, e.timeStamp)), { once: true });
      };
      if (audio.state === "suspended") void audio.resume();
    });
  };
  const srcObject = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, "srcObject")!;
  Object.defineProperty(HTMLMediaElement.prototype, "srcObject", {
    configurable: true,
    enumerable: srcObject.enumerable,
    get(this: HTMLMediaElement) {
      return srcObject.get!.call(this) as MediaProvider | null;
    },
    set(this: HTMLMediaElement, value: MediaProvider | null) {
      srcObject.set!.call(this, value);
      if (value instanceof MediaStream) {
        analyse(value, this);
        value.addEventListener("addtrack", () => analyse(value, this));
      }
    },
  });
  // A tap that reached the Listen button (the benchmark taps through the browser's input, not in the page).
  document.addEventListener(
    "click",
    (event) => {
      if (event.target instanceof Element && event.target.closest("#listen-button")) console.debug("earshot:tap-received");
    },
    true,
  );
}
