'use client';
// Light, dark or the system's choice. Changing it repaints at once (globals.css keys every colour on
// <html data-theme>) and remembers it for a year in the ctc_theme cookie.
import { useState } from 'react';
import { THEME_COOKIE, THEMES, type Theme } from './theme';

const LABELS: Record<Theme, string> = { system: 'System', light: 'Light', dark: 'Dark' };

export function ThemeToggle({ initial }: { initial: Theme }) {
  const [theme, setTheme] = useState<Theme>(initial);
  const choose = (next: Theme) => {
    setTheme(next);
    if (next === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = next;
    document.cookie = `${THEME_COOKIE}=${next}; path=/; max-age=${365 * 24 * 3600}; samesite=strict`;
  };
  return (
    <label className="flex items-center gap-1.5 text-sm text-slate-700">
      Theme
      <select
        value={theme}
        onChange={(event) => choose(event.target.value as Theme)}
        className="rounded-md border border-slate-300 bg-white px-1.5 py-1 text-sm text-slate-900"
        data-testid="theme"
      >
        {THEMES.map((t) => (
          <option key={t} value={t}>
            {LABELS[t]}
          </option>
        ))}
      </select>
    </label>
  );
}
