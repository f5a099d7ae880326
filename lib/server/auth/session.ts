import { getServerSession } from "next-auth/next";
import { getAuthOptions } from "./options";

/** The signed-in speaker as server code sees it. */
export interface SignedInSpeaker {
  speakerId: string;
  email?: string;
  name?: string;
}

/**
 * The speaker signed in on this request, or undefined. For server
 * components and route handlers (reads the request's cookies).
 */
export async function getSpeaker(): Promise<SignedInSpeaker | undefined> {
  const session = await getServerSession(getAuthOptions());
  if (!session?.speakerId) return undefined;
  return {
    speakerId: session.speakerId,
    email: session.user?.email ?? undefined,
    name: session.user?.name ?? undefined,
  };
}
