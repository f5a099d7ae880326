import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * A WAV file with a known tone for Chromium's fake microphone
 * (`--use-file-for-fake-audio-capture`, which loops it). Written here, header
 * and all, so the tests need no audio tools.
 *
 * PCM, 16-bit little-endian, mono. A whole number of cycles fits the file, so
 * the loop has no click.
 */
export interface ToneOptions {
  frequency?: number;
  sampleRate?: number;
  seconds?: number;
  /** Peak amplitude, 0..1 of full scale. */
  amplitude?: number;
}

export const TONE_HZ = 440;

export function toneWav({ frequency = TONE_HZ, sampleRate = 48_000, seconds = 10, amplitude = 0.5 }: ToneOptions = {}): Buffer {
  const samples = Math.round(sampleRate * seconds);
  const bytesPerSample = 2;
  const dataBytes = samples * bytesPerSample;
  const buf = Buffer.alloc(44 + dataBytes);
  // RIFF header
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write("WAVE", 8, "ascii");
  // fmt chunk: PCM, mono
  buf.write("fmt ", 12, "ascii");
  buf.writeUInt32LE(16, 16); // chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // channels
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * bytesPerSample, 28); // byte rate
  buf.writeUInt16LE(bytesPerSample, 32); // block align
  buf.writeUInt16LE(16, 34); // bits per sample
  // data chunk
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(dataBytes, 40);
  const peak = Math.round(amplitude * 32767);
  for (let i = 0; i < samples; i++) {
    const value = Math.round(peak * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
    buf.writeInt16LE(value, 44 + i * bytesPerSample);
  }
  return buf;
}

export function writeToneWav(path: string, options?: ToneOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, toneWav(options));
}
