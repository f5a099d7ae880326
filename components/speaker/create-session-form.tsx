"use client";

import { useState, useSyncExternalStore, type FormEvent } from "react";
import type { CreateSessionInput } from "@/lib/client/session/speaker-session";
import type { LanguageCode } from "@/lib/core/languages";
import { isLanguageCode } from "@/lib/core/languages";
import { TRANSCRIPT_LIMITS, canRecognize, targetLanguagesFor, type SessionRecognizer } from "@/lib/core/speech";
import { hasWebSpeech } from "@/lib/client/speech/recognition";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { languageLabel, languageOptions } from "@/components/shared/language-options";
import { EnginesNotice } from "./engines-notice";
import { ENGINES_OFF, targetOffer, type SpeakerSpeechInfo } from "./speech-info";

export const MAX_TITLE_LENGTH = 120;

export type { CreateSessionInput };

const noSubscribe = () => () => undefined;
/** Whether this browser has the Web Speech API (false while rendering on the server). */
export function useHasWebSpeech(): boolean {
  return useSyncExternalStore(noSubscribe, hasWebSpeech, () => false);
}

/**
 * Title, source language and the languages to translate into. Targets are
 * offered only where the engines in effect can serve them, each saying what
 * its listeners get (translated voice, or captions only); without a
 * recogniser for the source language (server engine or, where the browser has
 * one and the speaker picks it, the browser's) nothing can be translated and
 * the form says so.
 */
export function CreateSessionForm({
  disabled,
  busy,
  onCreate,
  speech = { engines: ENGINES_OFF, notices: [] },
}: {
  disabled: boolean;
  busy: boolean;
  onCreate: (input: CreateSessionInput) => void;
  speech?: SpeakerSpeechInfo;
}) {
  const [title, setTitle] = useState("");
  const [language, setLanguage] = useState<LanguageCode>("en");
  const [targets, setTargets] = useState<ReadonlySet<LanguageCode>>(new Set());
  const [useBrowser, setUseBrowser] = useState(false);
  const webSpeech = useHasWebSpeech();
  const { engines } = speech;

  const serverAsr = canRecognize(engines.asr, language);
  const recognizer: SessionRecognizer = serverAsr && !useBrowser ? "server" : webSpeech && useBrowser ? "browser" : "off";
  const offered = recognizer === "off" ? [] : targetLanguagesFor(engines, language);
  const chosen = offered.filter((t) => targets.has(t));

  function toggle(code: LanguageCode, on: boolean) {
    const next = new Set(targets);
    if (on) next.add(code);
    else next.delete(code);
    setTargets(next);
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    onCreate({ title: title.trim(), sourceLanguage: language, targetLanguages: chosen, recognizer });
  }

  return (
    <form onSubmit={onSubmit} className="flex flex-col gap-4" data-testid="create-session-form">
      <EnginesNotice engines={engines} notices={speech.notices} browserRecognizer={webSpeech} />
      <Input
        id="session-title"
        label="Title (optional)"
        placeholder="e.g. Sunday service"
        maxLength={MAX_TITLE_LENGTH}
        value={title}
        onChange={(e) => setTitle(e.target.value)}
        hint="Listeners see it when they join."
        data-testid="session-title-input"
      />
      <Select
        id="source-language"
        label="You speak"
        options={languageOptions()}
        value={language}
        onChange={(e) => isLanguageCode(e.target.value) && setLanguage(e.target.value)}
        data-testid="source-language-select"
      />

      {webSpeech && engines.mt !== "off" ? (
        <label className="flex items-start gap-3 text-sm text-slate-700">
          <input
            type="checkbox"
            className="mt-0.5 size-4 accent-sky-600"
            checked={useBrowser || !serverAsr}
            disabled={!serverAsr}
            onChange={(e) => setUseBrowser(e.target.checked)}
            data-testid="create-web-speech-toggle"
          />
          <span>
            Recognise my speech in this browser (Web Speech)
            <span className="block text-slate-500">
              {serverAsr
                ? "The server's recogniser is used otherwise. Your browser may send the audio to its maker's service."
                : "The server has no recogniser for this language. Your browser may send the audio to its maker's service."}
            </span>
          </span>
        </label>
      ) : null}

      <fieldset className="flex flex-col gap-2" data-testid="target-languages" aria-describedby="target-languages-hint">
        <legend className="mb-1 text-sm font-medium text-slate-800">Translate into</legend>
        {offered.length ? (
          <ul className="grid gap-2 sm:grid-cols-2">
            {offered.map((code) => {
              const offer = targetOffer(engines, code);
              const id = `target-${code}`;
              const atLimit = !targets.has(code) && chosen.length >= TRANSCRIPT_LIMITS.maxTargetLanguages;
              return (
                <li key={code}>
                  <label
                    htmlFor={id}
                    className="flex cursor-pointer items-start gap-3 rounded-xl px-3 py-2 ring-1 ring-slate-200 has-[:checked]:bg-sky-50 has-[:checked]:ring-sky-300"
                  >
                    <input
                      id={id}
                      type="checkbox"
                      className="mt-0.5 size-4 accent-sky-600"
                      checked={targets.has(code)}
                      disabled={atLimit}
                      onChange={(e) => toggle(code, e.target.checked)}
                      data-testid={`target-language-${code}`}
                    />
                    <span className="text-sm">
                      <span className="font-medium text-slate-900">{languageLabel(code)}</span>
                      <span className="block text-slate-600" data-testid={`target-offer-${code}`} data-kind={offer.kind}>
                        {offer.kind === "voice" ? "Voice and captions" : "Captions only"}
                        {offer.note ? ` (${offer.note})` : ""}
                      </span>
                    </span>
                  </label>
                </li>
              );
            })}
          </ul>
        ) : null}
        <p id="target-languages-hint" className="text-sm text-slate-500" data-testid="target-languages-hint">
          {offered.length
            ? `Listeners who pick one of these get it; ${languageLabel(language)} listeners hear your voice${recognizer === "off" ? "" : " with live captions"}.`
            : recognizer === "off"
              ? `No speech recognition for ${languageLabel(language)} here, so there is nothing to translate: listeners hear your voice.`
              : `No translation from ${languageLabel(language)} is available here: listeners hear your voice with live captions.`}
        </p>
      </fieldset>

      <Button type="submit" size="lg" disabled={disabled} busy={busy} data-testid="create-session-button">
        Start session
      </Button>
    </form>
  );
}
