"use client";

import { useState, type FormEvent } from "react";
import type { LanguageCode } from "@/lib/core/languages";
import { isLanguageCode } from "@/lib/core/languages";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { languageOptions } from "@/components/shared/language-options";

export const MAX_TITLE_LENGTH = 120;

/** Title and source language of a new session. */
export function CreateSessionForm({
  disabled,
  busy,
  onCreate,
}: {
  disabled: boolean;
  busy: boolean;
  onCreate: (input: { title: string; sourceLanguage: LanguageCode }) => void;
}) {
  const [title, setTitle] = useState("");
  const [language, setLanguage] = useState<LanguageCode>("en");

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    onCreate({ title: title.trim(), sourceLanguage: language });
  }

  return (
    <form onSubmit={onSubmit} className="flex flex-col gap-4" data-testid="create-session-form">
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
      <Button type="submit" size="lg" disabled={disabled} busy={busy} data-testid="create-session-button">
        Start session
      </Button>
    </form>
  );
}
