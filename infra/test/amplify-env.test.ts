/** The Amplify build step that hands the Earshot variables to Next's server runtime (pure function, no AWS). */
import { describe, expect, it } from "vitest";
import { dotenvLines } from "../hosting/amplify-env";
import { loadConfig } from "../../lib/server/config";
import { generateKeyPairPem } from "../../lib/server/tokens";

function parseDotenvValue(line: string): [string, string] {
  const i = line.indexOf("=");
  return [line.slice(0, i), JSON.parse(line.slice(i + 1)) as string];
}

describe("amplify-env", () => {
  it("keeps only the app's variables, secrets overriding plain ones", () => {
    const lines = dotenvLines(
      { EARSHOT_MODE: "cloud", AWS_REGION: "eu-west-1", AWS_SECRET_ACCESS_KEY: "nope", PATH: "/bin", COGNITO_CLIENT_SECRET: "old", EMPTY: "" },
      JSON.stringify({ COGNITO_CLIENT_SECRET: "from-ssm", UNRELATED: "x" }),
    );
    expect(lines).toEqual(['AWS_REGION="eu-west-1"', 'COGNITO_CLIENT_SECRET="from-ssm"', 'EARSHOT_MODE="cloud"']);
  });

  it("writes a multi-line PEM so that config still reads it", async () => {
    const { publicKey } = await generateKeyPairPem();
    const [line] = dotenvLines({ EARSHOT_TOKEN_PUBLIC_KEY: publicKey });
    expect(line!.includes("\n")).toBe(false); // one dotenv line
    const [, value] = parseDotenvValue(line!);
    const config = loadConfig({ EARSHOT_TOKEN_PUBLIC_KEY: value });
    expect(config.tokens.publicKey).toBe(publicKey.trim());
  });

  it("escapes $ so Next's dotenv expansion keeps a secret intact", () => {
    expect(dotenvLines({ NEXTAUTH_SECRET: "a$HOME$b" })).toEqual(['NEXTAUTH_SECRET="a\\$HOME\\$b"']);
  });

  it("refuses a secrets value that is not JSON", () => {
    expect(() => dotenvLines({}, "not json")).toThrow(/secrets/);
  });
});
