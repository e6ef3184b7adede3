// The theme choice: follow the system (the default), or always light or dark. Kept in a cookie, so the server
// renders <html data-theme> right on the first paint (no script before paint, no flash); no secret in it.
export const THEME_COOKIE = 'ctc_theme';
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

export const parseTheme = (value: string | undefined): Theme => (THEMES as readonly string[]).includes(value ?? '') ? (value as Theme) : 'system';
