import { MEDIA_FILES } from "@/components/listener/page/assets.generated";

/**
 * The listener page's media module (WebRTC viewer, KVS SDK) as ES module
 * files with content hashes in their names: loaded with import() only when a
 * listening mode needs the speaker's own voice; cached for good.
 */
export function generateStaticParams(): { file: string }[] {
  return Object.keys(MEDIA_FILES).map((file) => ({ file }));
}

export async function GET(_request: Request, context: { params: Promise<{ file: string }> }): Promise<Response> {
  const { file } = await context.params;
  const body = Object.prototype.hasOwnProperty.call(MEDIA_FILES, file) ? MEDIA_FILES[file] : undefined;
  if (body === undefined) return new Response("Not found", { status: 404, headers: { "content-type": "text/plain" } });
  return new Response(body, {
    headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=31536000, immutable" },
  });
}
