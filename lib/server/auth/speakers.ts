import { randomUUID } from "node:crypto";
import { z } from "zod";
import { EarshotError, isEarshotError } from "../../core/errors";
import type { SpeakerItem } from "../../core/schema";
import type { Store } from "../store/store";
import { hashPassword } from "./passwords";

/**
 * Embedded speaker accounts (the cloud signs speakers in with Cognito and has
 * no speakers table). Used by the embedded runtime for the demo account and by
 * `npm run speaker:add`.
 */

export const DEMO_SPEAKER_EMAIL = "speaker@earshot.local";
export const DEMO_SPEAKER_NAME = "Demo speaker";
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

const emailSchema = z.email().max(254);

/** Lower-cased, trimmed email, or undefined when it is not an email address. */
export function normalizeEmail(input: string): string | undefined {
  const email = input.trim().toLowerCase();
  return emailSchema.safeParse(email).success ? email : undefined;
}

/** Throws INVALID_PARAMETER naming what is wrong with a new password. */
export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new EarshotError("INVALID_PARAMETER", `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new EarshotError("INVALID_PARAMETER", `The password must be at most ${MAX_PASSWORD_LENGTH} characters.`);
  }
}

/** A speaker as the rest of the app sees it (never the hash). */
export interface SpeakerAccount {
  speakerId: string;
  email: string;
  name: string;
}

function toAccount(item: SpeakerItem): SpeakerAccount {
  return { speakerId: item.speakerId, email: item.email, name: item.name };
}

/**
 * Adds a speaker account. Throws INVALID_PARAMETER for a bad email or
 * password and CONFLICT when the email is taken (nothing is overwritten).
 */
export async function addSpeaker(store: Store, email: string, password: string, name?: string): Promise<SpeakerAccount> {
  const normalized = normalizeEmail(email);
  if (!normalized) throw new EarshotError("INVALID_PARAMETER", `"${email.slice(0, 80)}" is not a valid email address.`);
  checkPassword(password);
  const displayName = (name ?? "").trim().slice(0, 80) || normalized.split("@")[0]!;
  const item: SpeakerItem = {
    email: normalized,
    speakerId: randomUUID(),
    name: displayName,
    passwordHash: await hashPassword(password),
    createdAt: Date.now(),
  };
  if (!(await store.putSpeaker(item))) {
    throw new EarshotError("CONFLICT", `A speaker with the email ${normalized} already exists.`);
  }
  return toAccount(item);
}

/**
 * Creates the demo speaker (`speaker@earshot.local`) when absent; an existing
 * account, and its password, are left alone. Embedded mode only.
 */
export async function ensureDemoSpeaker(store: Store, password: string): Promise<{ created: boolean; speaker: SpeakerAccount }> {
  const existing = await store.getSpeaker(DEMO_SPEAKER_EMAIL);
  if (existing) return { created: false, speaker: toAccount(existing) };
  try {
    return { created: true, speaker: await addSpeaker(store, DEMO_SPEAKER_EMAIL, password, DEMO_SPEAKER_NAME) };
  } catch (error) {
    // Another process created it between the read and the conditional write.
    if (isEarshotError(error) && error.code === "CONFLICT") {
      const raced = await store.getSpeaker(DEMO_SPEAKER_EMAIL);
      if (raced) return { created: false, speaker: toAccount(raced) };
    }
    throw error;
  }
}
