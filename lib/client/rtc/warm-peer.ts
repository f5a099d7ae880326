/**
 * A listener's peer connection made before the Listen tap, while the page is
 * idle: the receive-only audio transceiver, the offer set as the local
 * description and the host candidates gathered. On a phone's CPU that is
 * ~0.1-0.2 s of main thread (the certificate, the offer, gathering) that
 * otherwise runs after the media grant, where every phase of the join waits.
 * Only when the page knows the configuration the grant will bring (embedded:
 * no ICE servers); KVS's TURN servers come with the grant, so in the cloud
 * nothing is made early. A warm connection talks to nobody until the viewer
 * takes it and sends its offer; one that is never taken is closed with the
 * page.
 */

export interface WarmPeer {
  readonly pc: RTCPeerConnection;
  readonly configuration: RTCConfiguration;
  /** The offer, once set as the local description. */
  readonly offer: Promise<RTCSessionDescriptionInit>;
  /** Candidates gathered before the viewer took it, oldest first. */
  readonly candidates: RTCIceCandidate[];
}

let warm: WarmPeer | undefined;

/** Makes the page's one warm peer connection (once; again after it was taken or failed). */
export function warmPeerConnection(configuration: RTCConfiguration, create: (c: RTCConfiguration) => RTCPeerConnection = (c) => new RTCPeerConnection(c)): void {
  if (warm || typeof RTCPeerConnection === "undefined") return;
  let pc: RTCPeerConnection;
  try {
    pc = create(configuration);
    pc.addTransceiver("audio", { direction: "recvonly" });
  } catch {
    return;
  }
  const candidates: RTCIceCandidate[] = [];
  pc.onicecandidate = (event) => {
    if (event.candidate) candidates.push(event.candidate);
  };
  const offer = pc.createOffer().then(async (o) => {
    await pc.setLocalDescription(o);
    return o;
  });
  const entry: WarmPeer = { pc, configuration, offer, candidates };
  warm = entry;
  offer.catch(() => {
    if (warm === entry) warm = undefined;
    pc.close();
  });
  if (typeof window !== "undefined") window.addEventListener("pagehide", () => closeWarmPeer(), { once: true });
}

/** Takes the warm peer connection when it was made for this configuration (the caller owns it then). */
export function takeWarmPeer(configuration: RTCConfiguration): WarmPeer | undefined {
  const entry = warm;
  if (!entry) return undefined;
  warm = undefined;
  if (!sameConfiguration(entry.configuration, configuration) || entry.pc.signalingState === "closed") {
    entry.pc.close();
    return undefined;
  }
  return entry;
}

export function closeWarmPeer(): void {
  warm?.pc.close();
  warm = undefined;
}

function sameConfiguration(a: RTCConfiguration, b: RTCConfiguration): boolean {
  return JSON.stringify(a.iceServers ?? []) === JSON.stringify(b.iceServers ?? []) && (a.bundlePolicy ?? "balanced") === (b.bundlePolicy ?? "balanced") && (a.iceTransportPolicy ?? "all") === (b.iceTransportPolicy ?? "all");
}
