// The frame of every signed-in page: a skip link, the product name and icon, the navigation (from pages.ts),
// the notice area, the result/toast area, the theme choice, who is logged in (their Account page) and Log out; then the page's <main>.
import { cookies } from 'next/headers';
import Link from 'next/link';
import type { ReactNode } from 'react';
import type { Me } from '@/lib/auth/login';
import { ToastProvider } from '../ui/Toast';
import { NoticeArea } from './NoticeArea';
import { navigationFor } from './pages';
import { parseTheme, THEME_COOKIE } from './theme';
import { ThemeToggle } from './ThemeToggle';
import { UserMenu } from './UserMenu';

export interface ConsoleShellProps {
  /** The page's href in CONSOLE_PAGES: marks it current in the navigation. */
  page: string;
  me: Me;
  children: ReactNode;
}

export async function ConsoleShell({ page, me, children }: ConsoleShellProps) {
  const nav = navigationFor(me.permissions);
  const theme = parseTheme((await cookies()).get(THEME_COOKIE)?.value);
  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="skip-link rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white" data-testid="skip-link">
        Skip to main content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <div className="flex flex-wrap items-center gap-x-6 gap-y-2 px-4 py-2 sm:px-6">
          <Link href="/" prefetch={false} className="flex items-center gap-2 font-semibold text-slate-900" data-testid="product">
            {/* eslint-disable-next-line @next/next/no-img-element -- a 24 px SVG needs no image optimiser */}
            <img src="/icon.svg" alt="" width={24} height={24} />
            Conntrack Console
          </Link>
          <nav aria-label="Main" data-testid="main-nav">
            <ul className="flex flex-wrap items-center gap-1 text-sm">
              {nav.map((item) => {
                const current = item.href === page;
                return (
                  <li key={item.href}>
                    <Link
                      href={item.href}
                      // Every page renders per request (who is asking, the kernel's state): prefetching them all
                      // on every page load would cost the server a full render each, for pages maybe never opened.
                      prefetch={false}
                      aria-current={current ? 'page' : undefined}
                      className={`block rounded-md px-2.5 py-1.5 ${current ? 'bg-slate-100 font-semibold text-slate-900' : 'text-slate-700 hover:bg-slate-100 hover:text-slate-900'}`}
                      data-testid={`nav-${item.href === '/' ? 'connections' : item.href.slice(1)}`}
                    >
                      {item.label}
                    </Link>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="ml-auto flex flex-wrap items-center gap-3">
            <ThemeToggle initial={theme} />
            <UserMenu me={me} current={page === '/account'} />
          </div>
        </div>
      </header>
      <NoticeArea />
      <main id="main" tabIndex={-1} className="flex min-w-0 flex-1 flex-col outline-none">
        <ToastProvider>{children}</ToastProvider>
      </main>
    </div>
  );
}
