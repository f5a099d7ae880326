import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../lib/server/config";

const PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("config", () => {
  it("needs nothing in embedded mode", () => {
    const c = loadConfig({});
    expect(c.mode).toBe("embedded");
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe("http://localhost:3000");
    expect(c.data).toEqual({ kind: "disk", path: ".earshot" });
    expect(c.kvs.viewersPerChannel).toBe(10);
  });

  it("reads overrides, treats empty strings as unset, and knows memory mode", () => {
    const c = loadConfig({ PORT: "8080", EARSHOT_DATA: "memory", EARSHOT_LIMIT_CONNECTS_PER_MINUTE: "5000", AWS_REGION: "", EARSHOT_TRUST_PROXY: "true" });
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe("http://localhost:8080");
    expect(c.data).toEqual({ kind: "memory" });
    expect(c.limits.connectsPerMinute).toBe(5000);
    expect(c.aws.region).toBe("us-east-1");
    expect(c.trustProxy).toBe(true);
  });

  it("connects a listener's page ahead of the tap for 60 s unless told otherwise; 0 turns it off; a bad value is named", () => {
    expect(loadConfig({}).connectAheadSeconds).toBe(60);
    expect(loadConfig({ EARSHOT_CONNECT_AHEAD_SECONDS: "0" }).connectAheadSeconds).toBe(0);
    for (const bad of ["-1", "601", "1.5", "soon"]) {
      expect(problems({ EARSHOT_CONNECT_AHEAD_SECONDS: bad }).map((line) => line.split(" ")[0])).toEqual(["EARSHOT_CONNECT_AHEAD_SECONDS"]);
    }
  });

  it("names every bad variable", () => {
    const p = problems({ PORT: "eighty", EARSHOT_MODE: "hybrid", EARSHOT_PUBLIC_URL: "not a url", EARSHOT_TRUST_PROXY: "maybe", EARSHOT_LIMIT_CONNECTS_PER_MINUTE: "-1" });
    const named = p.map((line) => line.split(" ")[0]);
    expect(named).toEqual(expect.arrayContaining(["PORT", "EARSHOT_MODE", "EARSHOT_PUBLIC_URL", "EARSHOT_TRUST_PROXY", "EARSHOT_LIMIT_CONNECTS_PER_MINUTE"]));
  });

  it("requires the cloud settings in cloud mode", () => {
    const p = problems({ EARSHOT_MODE: "cloud" });
    const named = p.map((line) => line.split(" ")[0]);
    expect(named).toEqual(expect.arrayContaining(["AWS_REGION", "EARSHOT_PUBLIC_URL", "EARSHOT_WS_URL", "EARSHOT_TOKEN_PUBLIC_KEY", "COGNITO_IDENTITY_POOL_ID", "KVS_VIEWER_ROLE_ARN"]));
    expect(p.join("\n")).toMatch(/required when EARSHOT_MODE=cloud/);
    const ok = loadConfig({
      EARSHOT_MODE: "cloud",
      AWS_REGION: "eu-west-1",
      EARSHOT_PUBLIC_URL: "https://earshot.example",
      EARSHOT_WS_URL: "wss://abc.execute-api.eu-west-1.amazonaws.com/prod",
      EARSHOT_TOKEN_PUBLIC_KEY: PEM.replace(/\n/g, "\\n"),
      COGNITO_IDENTITY_POOL_ID: "eu-west-1:0b9f3c1e-1111-2222-3333-444455556666",
      KVS_VIEWER_ROLE_ARN: "arn:aws:iam::123456789012:role/earshot-viewer",
    });
    expect(ok.tokens.publicKey).toBe(PEM);
  });
  describe("speech engines", () => {
    const cloud = {
      EARSHOT_MODE: "cloud",
      AWS_REGION: "eu-west-1",
      EARSHOT_PUBLIC_URL: "https://earshot.example",
      EARSHOT_WS_URL: "wss://abc.execute-api.eu-west-1.amazonaws.com/prod",
      EARSHOT_TOKEN_PUBLIC_KEY: PEM,
      COGNITO_IDENTITY_POOL_ID: "eu-west-1:0b9f3c1e-1111-2222-3333-444455556666",
      KVS_VIEWER_ROLE_ARN: "arn:aws:iam::123456789012:role/earshot-viewer",
    };

    it("defaults to local engines embedded and AWS in the cloud", () => {
      expect(loadConfig({}).speech).toEqual({ asr: "local", mt: "local", tts: "local", pollyVoices: {}, maxRecognizerStreams: 4, pauseMs: 500 });
      expect(loadConfig(cloud).speech).toMatchObject({ asr: "aws", mt: "aws", tts: "aws" });
    });

    it("reads each port's engine and the Polly voices", () => {
      const c = loadConfig({ EARSHOT_ASR: "off", EARSHOT_MT: "aws", EARSHOT_TTS: "local", EARSHOT_POLLY_VOICES: "es=Lucia, de=Vicki:standard", EARSHOT_ASR_MAX_STREAMS: "2", EARSHOT_ASR_PAUSE_MS: "300" });
      expect(c.speech).toEqual({
        asr: "off",
        mt: "aws",
        tts: "local",
        pollyVoices: { es: { voice: "Lucia", engine: "neural" }, de: { voice: "Vicki", engine: "standard" } },
        maxRecognizerStreams: 2,
        pauseMs: 300,
      });
    });

    it("refuses local engines in the cloud, saying why", () => {
      const p = problems({ ...cloud, EARSHOT_ASR: "local", EARSHOT_TTS: "local", EARSHOT_MT: "off" });
      expect(p.map((line) => line.split(" ")[0]).sort()).toEqual(["EARSHOT_ASR", "EARSHOT_TTS"]);
      expect(p[0]).toMatch(/=local is not available when EARSHOT_MODE=cloud.*use aws or off/);
    });

    it("names bad engine values and bad Polly voices", () => {
      const p = problems({ EARSHOT_MT: "apertium", EARSHOT_POLLY_VOICES: "es=Lucia,xx=Bob,de:Vicki" });
      expect(p.filter((line) => line.startsWith("EARSHOT_MT "))).toHaveLength(1);
      const voices = p.filter((line) => line.startsWith("EARSHOT_POLLY_VOICES "));
      expect(voices.join("\n")).toMatch(/"xx" is not a language/);
      expect(voices.join("\n")).toMatch(/"de:Vicki" is not LANG=Voice/);
    });
  });
});
