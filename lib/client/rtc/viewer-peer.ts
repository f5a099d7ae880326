import type { ChannelHost } from "./master-channel";
import { rtcLogger } from "./log";
import { SPEECH_MAX_BITRATE, tuneOpus } from "./sdp";

/**
 * One viewer's peer connection on the speaker's side (send-only audio):
 * answers the viewer's offer (Opus tuned for speech, bitrate capped),
 * queues its candidates until the offer is applied, and reports when it is
 * connected or gone (failed, closed, or disconnected past the grace period).
 *
 * A listener who closes the page closes its peer connection, which sends a
 * DTLS close alert: the DTLS transport here turns "closed" within
 * milliseconds while connectionState still says "connected" (ICE would only
 * notice ~10 s later). That frees the peer connection at once, so a long
 * session's hundredth join costs what the first did.
 */

const log = rtcLogger("rtc:master");

export interface PeerLink {
  answer(answer: RTCSessionDescriptionInit): void;
  candidate(candidate: RTCIceCandidate): void;
  changed(): void;
  gone(): void;
}

/** One viewer's peer connection, send-only audio. */
export class ViewerPeer {
  connected = false;
  private closed = false;
  private remoteSet = false;
  private readonly pendingCandidates: RTCIceCandidateInit[] = [];
  private graceTimer?: ReturnType<typeof setTimeout>;

  constructor(
    readonly clientId: string,
    readonly pc: RTCPeerConnection,
    private readonly host: ChannelHost,
    private readonly link: PeerLink,
  ) {
    pc.onicecandidate = (event) => {
      if (event.candidate && !this.closed) link.candidate(event.candidate);
    };
    pc.onconnectionstatechange = () => this.onConnectionState();
  }

  async accept(offer: RTCSessionDescriptionInit): Promise<void> {
    try {
      if (offer.type !== "offer" || typeof offer.sdp !== "string") throw new Error("not an SDP offer");
      // Opus for speech on what this side sends (its encoder follows the remote description).
      await this.pc.setRemoteDescription({ type: "offer", sdp: tuneOpus(offer.sdp) });
      this.remoteSet = true;
      const transceiver = this.pc.getTransceivers().find((t) => t.receiver.track.kind === "audio" && t.currentDirection !== "stopped");
      if (!transceiver) throw new Error("the offer has no audio section");
      transceiver.direction = "sendonly";
      await transceiver.sender.replaceTrack(this.host.track);
      transceiver.sender.setStreams?.(this.host.stream);
      const answer = await this.pc.createAnswer();
      const tuned: RTCSessionDescriptionInit = { type: "answer", sdp: tuneOpus(answer.sdp ?? "") };
      await this.pc.setLocalDescription(tuned);
      if (this.closed) return;
      this.watchTransport(transceiver.sender.transport);
      this.link.answer(this.pc.localDescription?.toJSON() ?? tuned);
      for (const c of this.pendingCandidates.splice(0)) await this.addRemoteCandidate(c);
      await this.capBitrate(transceiver.sender);
    } catch (error) {
      if (this.closed) return;
      log.warn(`could not answer viewer ${this.clientId}`, error);
      this.link.gone();
    }
  }

  async addRemoteCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.closed) return;
    if (!this.remoteSet) {
      this.pendingCandidates.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      log.debug("a remote ICE candidate was not accepted", error);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.graceTimer);
    const was = this.connected;
    this.connected = false;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    try {
      this.pc.close();
    } catch {
      // already closed
    }
    if (was) this.link.changed();
  }

  private watchTransport(transport: RTCDtlsTransport | null | undefined): void {
    if (!transport) return;
    transport.addEventListener("statechange", () => {
      if (this.closed || (transport.state !== "closed" && transport.state !== "failed")) return;
      log.debug("viewer's DTLS transport ended", { clientId: this.clientId, state: transport.state });
      this.link.gone();
    });
  }

  private async capBitrate(sender: RTCRtpSender): Promise<void> {
    try {
      const params = sender.getParameters();
      if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
      for (const e of params.encodings) e.maxBitrate = SPEECH_MAX_BITRATE;
      await sender.setParameters(params);
    } catch (error) {
      log.debug("could not cap the sender bitrate", error);
    }
  }

  private onConnectionState(): void {
    if (this.closed) return;
    const state = this.pc.connectionState;
    log.debug("viewer connection state", { clientId: this.clientId, state });
    if (state === "connected") {
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
      if (!this.connected) {
        this.connected = true;
        this.link.changed();
      }
      return;
    }
    if (state === "failed" || state === "closed") {
      this.link.gone();
      return;
    }
    if (state === "disconnected") {
      // Often a blip (network change); if it lasts, the viewer is gone (it offers again when it comes back).
      this.graceTimer ??= setTimeout(() => {
        if (!this.closed && this.pc.connectionState !== "connected") this.link.gone();
      }, this.host.disconnectGraceMs);
    }
  }
}
