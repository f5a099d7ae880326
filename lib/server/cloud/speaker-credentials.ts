import { CognitoIdentityClient, GetCredentialsForIdentityCommand, GetIdCommand } from "@aws-sdk/client-cognito-identity";
import { EarshotError } from "../../core/errors";
import type { Config } from "../config";

/**
 * Cloud only: turns a signed-in speaker's Cognito ID token into temporary AWS
 * credentials of the identity pool's signed-in role (which may
 * ConnectAsMaster on the app's channels). The browser's master uses them for
 * KVS signaling; they never outlive the ID token's hour by much.
 */

export interface KvsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms. */
  expiration: number;
}

export async function speakerKvsCredentials(
  idToken: string,
  config: Pick<Config, "aws" | "cognito">,
  client = new CognitoIdentityClient({ region: config.aws.region }),
): Promise<KvsCredentials> {
  const { identityPoolId, issuer } = config.cognito;
  if (!identityPoolId || !issuer) throw new EarshotError("INTERNAL_ERROR", "COGNITO_IDENTITY_POOL_ID and COGNITO_ISSUER are required.");
  // The Logins key is the user pool's issuer without the scheme: cognito-idp.REGION.amazonaws.com/POOL_ID
  const logins = { [issuer.replace(/^https:\/\//, "").replace(/\/+$/, "")]: idToken };
  const { IdentityId } = await client.send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: logins }));
  if (!IdentityId) throw new EarshotError("INTERNAL_ERROR", "Cognito returned no identity.");
  const { Credentials: c } = await client.send(new GetCredentialsForIdentityCommand({ IdentityId, Logins: logins }));
  if (!c?.AccessKeyId || !c.SecretKey || !c.SessionToken || !c.Expiration) {
    throw new EarshotError("INTERNAL_ERROR", "Cognito returned no credentials.");
  }
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, expiration: c.Expiration.getTime() };
}
