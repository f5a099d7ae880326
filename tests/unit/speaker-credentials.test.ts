import { describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { CognitoIdentityClient, GetCredentialsForIdentityCommand, GetIdCommand } from "@aws-sdk/client-cognito-identity";
import { speakerKvsCredentials } from "../../lib/server/cloud/speaker-credentials";

// AWS is unreachable here: the Cognito Identity client is mocked; the code under test is ours.
describe("speaker KVS credentials (cloud)", () => {
  const config = {
    aws: { region: "eu-west-1" },
    cognito: { identityPoolId: "eu-west-1:0b5e3f4c-1111-4222-8333-944445555666", issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123" },
  };

  it("exchanges the ID token with the user pool's Logins key for the signed-in role's credentials", async () => {
    const client = new CognitoIdentityClient({ region: "eu-west-1" });
    const mock = mockClient(client);
    mock.on(GetIdCommand).resolves({ IdentityId: "eu-west-1:identity-1" });
    mock.on(GetCredentialsForIdentityCommand).resolves({
      Credentials: { AccessKeyId: "AKIA", SecretKey: "secret", SessionToken: "session", Expiration: new Date(1_800_000_000_000) },
    });
    const creds = await speakerKvsCredentials("id-token", config, client);
    expect(creds).toEqual({ accessKeyId: "AKIA", secretAccessKey: "secret", sessionToken: "session", expiration: 1_800_000_000_000 });
    const logins = { "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123": "id-token" };
    expect(mock.commandCalls(GetIdCommand)[0]!.args[0].input).toEqual({ IdentityPoolId: config.cognito.identityPoolId, Logins: logins });
    expect(mock.commandCalls(GetCredentialsForIdentityCommand)[0]!.args[0].input).toEqual({ IdentityId: "eu-west-1:identity-1", Logins: logins });
  });

  it("fails with a coded error when Cognito returns no credentials", async () => {
    const client = new CognitoIdentityClient({ region: "eu-west-1" });
    const mock = mockClient(client);
    mock.on(GetIdCommand).resolves({ IdentityId: "eu-west-1:identity-1" });
    mock.on(GetCredentialsForIdentityCommand).resolves({});
    await expect(speakerKvsCredentials("id-token", config, client)).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
  });
});
