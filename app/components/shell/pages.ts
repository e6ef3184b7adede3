// Every signed-in page of the console, in navigation order: the one list the shell's navigation, the page titles
// and proxy.ts's page permissions come from. A new page adds one entry here (and wraps itself in ConsoleShell).
// Client-safe: no server imports, the navigation renders from it in the browser too.
import type { Permission } from '@/lib/auth/roles';

export interface ConsolePage {
  /** The path, exactly as the browser requests it. */
  href: string;
  /** The navigation label, also the page's <title> (pageTitle). */
  label: string;
  /** Who may open it; anyone signed in has 'read'. */
  permission: Permission;
  /** Reached from the user menu instead of the navigation (the Account page). */
  inNav?: boolean;
}

// Overview first (the question an alarm raises: who fills the table), Router after History.
export const CONSOLE_PAGES: readonly ConsolePage[] = [
  { href: '/overview', label: 'Overview', permission: 'read' },
  { href: '/', label: 'Connections', permission: 'read' },
  { href: '/expectations', label: 'Expectations', permission: 'read' },
  { href: '/history', label: 'History', permission: 'read' },
  { href: '/router', label: 'Router', permission: 'read' },
  { href: '/settings', label: 'Settings', permission: 'read' },
  { href: '/audit', label: 'Audit log', permission: 'read-audit' },
  { href: '/account', label: 'Account', permission: 'read', inNav: false },
];

export function consolePage(href: string): ConsolePage {
  const page = CONSOLE_PAGES.find((p) => p.href === href);
  if (!page) throw new Error(`${href} is not in CONSOLE_PAGES (app/components/shell/pages.ts)`);
  return page;
}

/** The navigation of a user with these permissions. */
export function navigationFor(permissions: readonly Permission[]): ConsolePage[] {
  return CONSOLE_PAGES.filter((p) => p.inNav !== false && permissions.includes(p.permission));
}

export const PRODUCT = 'Conntrack Console';

/** A page's <title> ("History · Conntrack Console"), for its `metadata`. */
export function pageTitle(href: string): { absolute: string } {
  return { absolute: `${consolePage(href).label} · ${PRODUCT}` };
}
