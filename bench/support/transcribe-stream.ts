import WebSocket from "ws";
import type { RecognizerResult } from "../../lib/core/segmenter";
import { openTranscribeStream, type BinarySocket } from "../../lib/client/speech/transcribe-client";

/**
 * The speaker browser's recognition stream, from Node: the same
 * Transcribe-protocol client (lib/client/speech/transcribe-client.ts) over
 * the `ws` package instead of the browser's WebSocket.
 */
export async function openRecognitionStream(
  url: string,
  onResult: (result: RecognizerResult) => void,
): Promise<{ send(pcm: Buffer): void; end(): Promise<void>; close(): void }> {
  const connection = await openTranscribeStream(
    url,
    {
      onResult,
      onClose: (error) => {
        if (error) console.error(`  recognition stream closed: ${error.message}`);
      },
    },
    (u) => new WebSocket(u) as unknown as BinarySocket,
  );
  return {
    send: (pcm) => connection.send(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2)),
    /** The protocol's end of stream: resolves once the recogniser has answered what it heard and closed. */
    end: () => connection.end(),
    close: () => connection.close(),
  };
}
