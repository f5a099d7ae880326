import type { NextRequest } from "next/server";
import NextAuth from "next-auth/next";
import { getAuthOptions } from "@/lib/server/auth/options";

/** next-auth's endpoints (/api/auth/*). Options are built on the first request, after the runtime filled env. */
async function handler(request: NextRequest, context: { params: Promise<{ nextauth: string[] }> }): Promise<Response> {
  return NextAuth(request, context, getAuthOptions());
}

export { handler as GET, handler as POST };
