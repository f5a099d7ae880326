/**
 * Duration of an MP3 (MPEG-1/2/2.5 layer III, CBR or VBR) by walking its
 * frame headers: what Polly returns and what lame writes. A Xing/Info frame
 * (no audio) is not counted.
 */

const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

export function mp3DurationMs(data: Uint8Array): number {
  let i = 0;
  // ID3v2 tag
  if (data.length >= 10 && data[0] === 0x49 && data[1] === 0x44 && data[2] === 0x33) {
    i = 10 + (((data[6]! & 0x7f) << 21) | ((data[7]! & 0x7f) << 14) | ((data[8]! & 0x7f) << 7) | (data[9]! & 0x7f));
  }
  let seconds = 0;
  let first = true;
  while (i + 4 <= data.length) {
    const b1 = data[i + 1]!;
    const b2 = data[i + 2]!;
    if (data[i] !== 0xff || (b1 & 0xe0) !== 0xe0) {
      i++;
      continue;
    }
    const version = (b1 >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    const layer = (b1 >> 1) & 3; // 1: layer III
    const bitrateIndex = b2 >> 4;
    const rateIndex = (b2 >> 2) & 3;
    const rates = RATES[version];
    if (layer !== 1 || !rates || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) {
      i++;
      continue;
    }
    const rate = rates[rateIndex]!;
    const kbps = (version === 3 ? BITRATES_V1 : BITRATES_V2)[bitrateIndex]!;
    const samples = version === 3 ? 1152 : 576;
    const padding = (b2 >> 1) & 1;
    const length = Math.floor(((samples / 8) * kbps * 1000) / rate) + padding;
    if (length < 4) break;
    if (!(first && isInfoFrame(data, i, version, (data[i + 3]! >> 6) === 3))) seconds += samples / rate;
    first = false;
    i += length;
  }
  return Math.round(seconds * 1000);
}

function isInfoFrame(data: Uint8Array, at: number, version: number, mono: boolean): boolean {
  const side = version === 3 ? (mono ? 17 : 32) : mono ? 9 : 17;
  const tag = String.fromCharCode(...data.subarray(at + 4 + side, at + 8 + side));
  return tag === "Xing" || tag === "Info";
}
