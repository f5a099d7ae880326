import { SignJWT, jwtVerify, importPKCS8, importSPKI, exportPKCS8, exportSPKI, generateKeyPair, errors } from "jose";
import type { CryptoKey, JWTPayload } from "jose";
import { EarshotError } from "../core/errors";

/**
 * Short-lived tokens, ES256 only. The Next app (which holds the private key)
 * mints them; the control plane and the signaling relay verify them with the
 * public key. In the cloud the Lambda holds only the public key.
 */

export const ALGORITHM = "ES256";
export const SPEAKER_TOKEN_AUDIENCE = "earshot:control";
export const SIGNALING_GRANT_AUDIENCE = "earshot:signaling";
export const RECOGNITION_GRANT_AUDIENCE = "earshot:recognition";
/** Recognition grants open the embedded /transcribe endpoint; spent at connect time like Transcribe's presigned URLs (5 min). */
export const RECOGNITION_GRANT_TTL_SECONDS = 5 * 60;
/** Speaker tokens for the WebSocket live 15 minutes at most. */
export const SPEAKER_TOKEN_TTL_SECONDS = 15 * 60;
/** Signaling grants are spent at connect time; 5 minutes as KVS's TURN credentials. */
export const SIGNALING_GRANT_TTL_SECONDS = 5 * 60;

export interface SpeakerClaims {
  speakerId: string;
  email?: string;
  name?: string;
}

export type SignalingRole = "MASTER" | "VIEWER";

export interface SignalingClaims {
  /** The signaling channel name the holder may use. */
  channel: string;
  role: SignalingRole;
  /** MASTER: "MASTER"; VIEWER: the viewer's client id. */
  clientId: string;
  sessionId: string;
  /** VIEWER: the control connection the grant was issued to (the relay refuses it once that connection no longer holds the slot). */
  connectionId?: string;
}

/** Who may stream audio for recognition: the session's speaker. */
export interface RecognitionClaims {
  sessionId: string;
  speakerId: string;
}

export interface KeyPairPem {
  privateKey: string;
  publicKey: string;
}

export async function generateKeyPairPem(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  return { privateKey: await exportPKCS8(privateKey), publicKey: await exportSPKI(publicKey) };
}

export class TokenSigner {
  private constructor(
    private readonly key: CryptoKey,
    private readonly issuer: string,
  ) {}

  static async fromPem(privateKeyPem: string, issuer: string): Promise<TokenSigner> {
    return new TokenSigner(await importPKCS8(privateKeyPem, ALGORITHM), issuer);
  }

  async speakerToken(claims: SpeakerClaims, ttlSeconds = SPEAKER_TOKEN_TTL_SECONDS): Promise<{ token: string; expiresAt: number }> {
    const ttl = Math.min(ttlSeconds, SPEAKER_TOKEN_TTL_SECONDS);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ email: claims.email, name: claims.name })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setIssuer(this.issuer)
      .setAudience(SPEAKER_TOKEN_AUDIENCE)
      .setSubject(claims.speakerId)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(this.key);
    return { token, expiresAt: now + ttl };
  }

  async signalingGrant(claims: SignalingClaims, ttlSeconds = SIGNALING_GRANT_TTL_SECONDS): Promise<{ token: string; expiresAt: number }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ ch: claims.channel, role: claims.role, sid: claims.sessionId, ...(claims.connectionId ? { cid: claims.connectionId } : {}) })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setIssuer(this.issuer)
      .setAudience(SIGNALING_GRANT_AUDIENCE)
      .setSubject(claims.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .sign(this.key);
    return { token, expiresAt: now + ttlSeconds };
  }

  async recognitionGrant(claims: RecognitionClaims, ttlSeconds = RECOGNITION_GRANT_TTL_SECONDS): Promise<{ token: string; expiresAt: number }> {
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.min(ttlSeconds, RECOGNITION_GRANT_TTL_SECONDS);
    const token = await new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setIssuer(this.issuer)
      .setAudience(RECOGNITION_GRANT_AUDIENCE)
      .setSubject(claims.speakerId)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(this.key);
    return { token, expiresAt: now + ttl };
  }
}

export class TokenVerifier {
  private constructor(
    private readonly key: CryptoKey,
    private readonly issuer: string,
  ) {}

  static async fromPem(publicKeyPem: string, issuer: string): Promise<TokenVerifier> {
    return new TokenVerifier(await importSPKI(publicKeyPem, ALGORITHM), issuer);
  }

  private async verify(token: string, audience: string, maxLifetime: number): Promise<JWTPayload & { sub: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: this.issuer,
        audience,
        requiredClaims: ["exp", "iat", "sub"],
        clockTolerance: 5,
      });
      if (typeof payload.sub !== "string" || payload.sub.length === 0) throw new Error("empty subject");
      if (payload.exp! - payload.iat! > maxLifetime) throw new Error("lifetime too long");
      return payload as JWTPayload & { sub: string };
    } catch (error) {
      const expired = error instanceof errors.JWTExpired;
      throw new EarshotError("UNAUTHORIZED", expired ? "The token has expired." : "The token is invalid.", { cause: error });
    }
  }

  /** Throws UNAUTHORIZED for anything but a valid, unexpired speaker token. */
  async verifySpeaker(token: string): Promise<SpeakerClaims> {
    const p = await this.verify(token, SPEAKER_TOKEN_AUDIENCE, SPEAKER_TOKEN_TTL_SECONDS);
    return {
      speakerId: p.sub,
      email: typeof p.email === "string" ? p.email : undefined,
      name: typeof p.name === "string" ? p.name : undefined,
    };
  }

  async verifySignalingGrant(token: string): Promise<SignalingClaims> {
    const p = await this.verify(token, SIGNALING_GRANT_AUDIENCE, SIGNALING_GRANT_TTL_SECONDS);
    if (typeof p.ch !== "string" || typeof p.sid !== "string" || (p.role !== "MASTER" && p.role !== "VIEWER")) {
      throw new EarshotError("UNAUTHORIZED", "The signaling grant is malformed.");
    }
    if (p.cid !== undefined && typeof p.cid !== "string") throw new EarshotError("UNAUTHORIZED", "The signaling grant is malformed.");
    return { channel: p.ch, role: p.role, clientId: p.sub, sessionId: p.sid, ...(p.cid ? { connectionId: p.cid } : {}) };
  }

  async verifyRecognitionGrant(token: string): Promise<RecognitionClaims> {
    const p = await this.verify(token, RECOGNITION_GRANT_AUDIENCE, RECOGNITION_GRANT_TTL_SECONDS);
    if (typeof p.sid !== "string" || p.sid.length === 0) throw new EarshotError("UNAUTHORIZED", "The recognition grant is malformed.");
    return { sessionId: p.sid, speakerId: p.sub };
  }
}
