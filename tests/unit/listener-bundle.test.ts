import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs build script without types
import { listenerBundleInputs } from "../../scripts/build-listener.mjs";

/**
 * The listener page is for phones (issue 13): its inline script and the media
 * module it imports for the original voice must stay small. Once a plain
 * constant imported from a module that validates with zod put all of zod
 * (400 KB) into the media module; this keeps what each bundle pulls in honest.
 */
describe("listener page bundles", () => {
  it("pull in neither zod nor React, and the media module loads the AWS SDK only on demand", async () => {
    const { script, media } = (await listenerBundleInputs()) as { script: string[]; media: string[] };
    expect(script.some((f) => f.includes("components/listener/page/main.ts"))).toBe(true);
    expect(media.some((f) => f.includes("lib/client/rtc/viewer.ts"))).toBe(true);
    for (const inputs of [script, media]) {
      // (Next's compiled copy of Node's `events` is the browser shim the KVS SDK gets: a few KB.)
      expect(inputs.filter((f) => /node_modules\/(zod|react|react-dom|next)\//.test(f) && !f.endsWith("next/dist/compiled/events/events.js"))).toEqual([]);
    }
    expect(script.filter((f) => f.includes("amazon-kinesis-video-streams-webrtc"))).toEqual([]);
    expect(media.filter((f) => f.includes("@aws-sdk/"))).toEqual([]);
  }, 60_000);
});
