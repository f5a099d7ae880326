import type { DefaultSession } from "next-auth";

/** What Earshot adds to next-auth's session and JWT. */
declare module "next-auth" {
  interface Session {
    /** The signed-in speaker's id (embedded: the speakers table; cloud: the Cognito `sub`). */
    speakerId?: string;
    user?: DefaultSession["user"];
  }
}

declare module "next-auth/jwt" {
  interface JWT {
    speakerId?: string;
  }
}
