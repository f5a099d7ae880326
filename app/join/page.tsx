import type { Metadata } from "next";
import { Card } from "@/components/ui/card";
import { JoinCodeForm } from "@/components/listener/join-code-form";

export const metadata: Metadata = { title: "Join a session" };

export default function JoinPage() {
  return (
    <div className="mx-auto flex max-w-xl flex-col gap-6">
      <div>
        <h1 className="text-2xl font-bold text-slate-900 sm:text-3xl">Join a session</h1>
        <p className="mt-2 text-slate-600">Type the code the speaker shows, or scan their QR code with your camera.</p>
      </div>
      <Card>
        <JoinCodeForm autoFocus />
      </Card>
    </div>
  );
}
