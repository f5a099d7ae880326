import { Readable } from "node:stream";
import { HttpResponse, type HttpHandler, type HttpRequest } from "@smithy/core/protocols";
import { isEarshotError } from "../../../core/errors";
import { isLanguageCode, type LanguageCode } from "../../../core/languages";

/**
 * Amazon Translate and Amazon Polly, answered in-process. The SDK clients
 * (@aws-sdk/client-translate, @aws-sdk/client-polly) get one of these as
 * their `requestHandler`: they serialize, sign and parse exactly as against
 * AWS, and the request never leaves the process (no port is opened). Only
 * the operations Earshot calls are served; anything else gets the error the
 * service would give for an unknown operation.
 *
 * - Translate: AWS JSON 1.1, POST /, X-Amz-Target AWSShineFrontendService_20170701.TranslateText.
 * - Polly: REST-JSON, POST /v1/speech, the audio as the response body.
 */

export type TranslateFn = (text: string, source: LanguageCode, target: LanguageCode) => Promise<string>;
export type SynthesizeFn = (text: string, voiceId: string) => Promise<Uint8Array>;

const TRANSLATE_TARGET = "AWSShineFrontendService_20170701.TranslateText";
/** Translate's limit for TranslateText (bytes of UTF-8). */
const MAX_TRANSLATE_BYTES = 10_000;
/** Polly's limit for SynthesizeSpeech (characters). */
const MAX_POLLY_CHARS = 3000;

abstract class InProcessHandler implements HttpHandler {
  readonly metadata = { handlerProtocol: "in-process" };

  abstract answer(request: HttpRequest, body: string): Promise<HttpResponse>;

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    try {
      return { response: await this.answer(request, await bodyText(request.body)) };
    } catch (error) {
      return { response: this.failure(error) };
    }
  }

  abstract failure(error: unknown): HttpResponse;

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

async function bodyText(body: unknown): Promise<string> {
  if (body === undefined || body === null) return "";
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  if (body instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return Buffer.concat(chunks).toString("utf8");
  }
  throw new TypeError("unsupported request body");
}

function header(request: HttpRequest, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function response(statusCode: number, headers: Record<string, string>, body: Uint8Array | string): HttpResponse {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return new HttpResponse({
    statusCode,
    headers: { ...headers, "content-length": String(bytes.length), "x-amzn-requestid": crypto.randomUUID() },
    body: Readable.from([bytes]),
  });
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** How an engine failure reads to the SDK: the service's own error shapes. */
function engineError(error: unknown): { status: number; type: string; message: string } {
  if (isEarshotError(error)) {
    if (error.code === "ENGINE_UNAVAILABLE") return { status: 503, type: "ServiceUnavailableException", message: error.message };
    if (error.code === "UNSUPPORTED_LANGUAGE") return { status: 400, type: "UnsupportedLanguagePairException", message: error.message };
    if (error.code === "INVALID_PARAMETER") return { status: 400, type: "InvalidRequestException", message: error.message };
  }
  return { status: 500, type: "InternalServerException", message: error instanceof Error ? error.message : "internal error" };
}

export class LocalTranslateHandler extends InProcessHandler {
  constructor(private readonly translate: TranslateFn) {
    super();
  }

  private error(status: number, type: string, message: string): HttpResponse {
    // AWS JSON 1.1 errors: the type in __type (and x-amzn-errortype), the text in message.
    return response(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type }, JSON.stringify({ __type: type, message }));
  }

  failure(error: unknown): HttpResponse {
    const e = engineError(error);
    return this.error(e.status, e.type, e.message);
  }

  async answer(request: HttpRequest, body: string): Promise<HttpResponse> {
    if (request.method !== "POST" || (request.path || "/") !== "/" || header(request, "x-amz-target") !== TRANSLATE_TARGET) {
      return this.error(400, "UnknownOperationException", `Only ${TRANSLATE_TARGET} is served here.`);
    }
    const input = parseJson(body);
    if (!input) return this.error(400, "SerializationException", "The request body is not a JSON object.");
    const { Text, SourceLanguageCode, TargetLanguageCode } = input;
    if (typeof Text !== "string" || typeof SourceLanguageCode !== "string" || typeof TargetLanguageCode !== "string") {
      return this.error(400, "ValidationException", "Text, SourceLanguageCode and TargetLanguageCode are required strings.");
    }
    if (Buffer.byteLength(Text, "utf8") > MAX_TRANSLATE_BYTES) {
      return this.error(400, "TextSizeLimitExceededException", `Text is longer than ${MAX_TRANSLATE_BYTES} bytes.`);
    }
    if (!isLanguageCode(SourceLanguageCode) || !isLanguageCode(TargetLanguageCode)) {
      return this.error(400, "UnsupportedLanguagePairException", `Unsupported language pair: ${SourceLanguageCode} to ${TargetLanguageCode}.`);
    }
    const translated = await this.translate(Text, SourceLanguageCode, TargetLanguageCode);
    return response(
      200,
      { "content-type": "application/x-amz-json-1.1" },
      JSON.stringify({ TranslatedText: translated, SourceLanguageCode, TargetLanguageCode }),
    );
  }
}

export class LocalPollyHandler extends InProcessHandler {
  constructor(private readonly synthesize: SynthesizeFn) {
    super();
  }

  private error(status: number, type: string, message: string): HttpResponse {
    // REST-JSON errors: the type in x-amzn-errortype, the text in message.
    return response(status, { "content-type": "application/json", "x-amzn-errortype": type }, JSON.stringify({ message }));
  }

  failure(error: unknown): HttpResponse {
    if (isEarshotError(error) && error.code === "INVALID_PARAMETER") return this.error(400, "ValidationException", error.message);
    return this.error(500, "ServiceFailureException", error instanceof Error ? error.message : "internal error");
  }

  async answer(request: HttpRequest, body: string): Promise<HttpResponse> {
    if (request.method !== "POST" || request.path !== "/v1/speech") {
      return this.error(404, "UnknownOperationException", "Only POST /v1/speech (SynthesizeSpeech) is served here.");
    }
    const input = parseJson(body);
    if (!input) return this.error(400, "SerializationException", "The request body is not a JSON object.");
    const { Text, VoiceId, OutputFormat, TextType } = input;
    if (typeof Text !== "string" || typeof VoiceId !== "string" || typeof OutputFormat !== "string") {
      return this.error(400, "ValidationException", "Text, VoiceId and OutputFormat are required strings.");
    }
    if (OutputFormat !== "mp3") return this.error(400, "ValidationException", "Only OutputFormat mp3 is served here.");
    if (TextType !== undefined && TextType !== "text") return this.error(400, "ValidationException", "Only TextType text is served here.");
    if (Text.length > MAX_POLLY_CHARS) return this.error(400, "TextLengthExceededException", `Text is longer than ${MAX_POLLY_CHARS} characters.`);
    const audio = await this.synthesize(Text, VoiceId);
    return response(200, { "content-type": "audio/mpeg", "x-amzn-requestcharacters": String(Text.length) }, audio);
  }
}
