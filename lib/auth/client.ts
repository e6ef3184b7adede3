// For browser code: what a state-changing fetch must send besides the session cookie. No Node imports here.
export const CSRF_COOKIE_NAME = 'ctc_csrf';
export const CSRF_HEADER_NAME = 'x-csrf-token';

/** The CSRF header for POST/DELETE from the console page: the value of the ctc_csrf cookie set at login. */
export function csrfHeaders(): Record<string, string> {
  const match = document.cookie.split(';').map((part) => part.trim().split('=')).find(([name]) => name === CSRF_COOKIE_NAME);
  return match?.[1] ? { [CSRF_HEADER_NAME]: match[1] } : {};
}
