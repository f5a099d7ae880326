import { ButtonLink } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { JoinCodeForm } from "@/components/listener/join-code-form";

export default function HomePage() {
  return (
    <div className="flex flex-col gap-8">
      <section className="pt-2 text-center sm:pt-6">
        <h1 className="text-3xl font-bold tracking-tight text-slate-900 sm:text-5xl">Hear the speaker, right on your phone.</h1>
        <p className="mx-auto mt-4 max-w-xl text-base text-slate-600 sm:text-lg">
          Earshot streams one speaker live to everyone in the room, in their browser. Listeners scan a code and tap Listen: no app, no account.
        </p>
        <div className="mt-6 flex justify-center">
          <ButtonLink href="/speaker" size="lg" data-testid="start-session-link">
            Start a session
          </ButtonLink>
        </div>
      </section>

      <Card title="Join a session" description="Type the code the speaker shows you, such as quiet-harbor-042.">
        <JoinCodeForm />
      </Card>

      <section aria-labelledby="how-title" className="grid gap-4 sm:grid-cols-3">
        <h2 id="how-title" className="sr-only">
          How it works
        </h2>
        {[
          { step: "1", title: "Speaker starts", text: "Sign in, name the session and pick the language you speak." },
          { step: "2", title: "Listeners join", text: "By link, code or QR code. No account, any modern browser." },
          { step: "3", title: "Everyone hears", text: "Live audio with pause, mute and a clear state on every screen." },
        ].map((item) => (
          <div key={item.step} className="rounded-2xl bg-white p-5 ring-1 ring-slate-200">
            <p className="text-sm font-semibold text-brand-700">Step {item.step}</p>
            <h3 className="mt-1 font-semibold text-slate-900">{item.title}</h3>
            <p className="mt-1 text-sm text-slate-600">{item.text}</p>
          </div>
        ))}
      </section>
    </div>
  );
}
