'use client';
// What the Router page shows: each WAN (state, addresses now and before, default route, connections, stale),
// every interface, and the connections per external address; the cleanup by uplink starts here per WAN. Below,
// the files that name hosts and the lines of them that were not understood.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiRequest } from '../components/api/http';
import type { RouterResponse } from '../components/api/types';
import { useApi } from '../components/api/useApi';
import { buttonClass } from '../components/ui/buttons';
import { ErrorPanel } from '../components/ui/ErrorPanel';
import { LocalTime } from '../components/ui/LocalTime';
import { refreshNotices } from '../components/shell/NoticeArea';
import { UplinkCleanup } from '../components/uplinks/UplinkCleanup';
import { PolicyList } from './PolicyList';
import { NameFiles } from './NameFiles';
import { DemoControls } from './DemoControls';

const STATE_STYLE: Record<string, string> = {
  up: 'bg-emerald-100 text-emerald-800',
  'no-carrier': 'bg-amber-100 text-amber-900',
  down: 'bg-red-100 text-red-800',
  absent: 'bg-slate-200 text-slate-700',
};


export interface RouterViewProps {
  canDelete: boolean;
  /** May read the audit log (the policies' runs link there). */
  canAudit: boolean;
  /** May use the demo controls (shown only when the console manages a demo lab). */
  canConfigure: boolean;
  /** Open the cleanup dialog at once (`?cleanup=`; empty: no WAN preselected). */
  openCleanup?: string;
}

export function RouterView({ canDelete, canAudit, canConfigure, openCleanup }: RouterViewProps) {
  const navigation = useRouter();
  const [attempt, setAttempt] = useState(0);
  const router = useApi<RouterResponse>(`router#${attempt}`, (signal) => apiRequest<RouterResponse>('/api/router', { signal }));
  const [cleanup, setCleanup] = useState<string | undefined>(openCleanup);
  const [message, setMessage] = useState<string>();
  const data = router.data;
  const closeCleanup = () => {
    setCleanup(undefined);
    // The dialog came from the URL (the stale notice's link): closing it leaves the plain page, so a reload
    // does not open it again.
    if (openCleanup !== undefined) navigation.replace('/router', { scroll: false });
  };

  return (
    <>
      <div className="mx-auto w-full max-w-7xl space-y-6 p-4 sm:p-6">
        <header className="flex flex-wrap items-center justify-between gap-2">
          <h1 className="text-xl font-semibold">Router</h1>
          <button type="button" className={buttonClass.secondary} onClick={() => setAttempt((n) => n + 1)}>
            Refresh
          </button>
        </header>
        {message && (
          <p role="status" className="rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="router-result">
            {message}
          </p>
        )}
        {router.error && <ErrorPanel title="Could not read the router" error={router.error} />}
        {data && (
          <>
            {data.demo && canConfigure && (
              <DemoControls
                onChanged={() => {
                  setAttempt((n) => n + 1);
                  refreshNotices();
                }}
              />
            )}
            <section aria-labelledby="wans-heading" className="space-y-2">
              <h2 id="wans-heading" className="text-lg font-semibold">
                Uplinks
              </h2>
              {data.wans.length === 0 && <p className="text-sm text-slate-600">No uplink: no interface carries a default route, and none is configured (CONNTRACK_WANS).</p>}
              <ul className="grid gap-3 md:grid-cols-2">
                {data.wans.map((w) => (
                  <li key={w.name} className="rounded-lg border border-slate-200 bg-white p-4 text-sm" data-testid="wan-card" data-wan={w.name}>
                    <div className="mb-2 flex flex-wrap items-center gap-2">
                      <h3 className="text-base font-semibold">{w.name}</h3>
                      <span className="text-slate-500">{w.interface}</span>
                      <span className={`rounded px-1.5 py-0.5 text-[10px] font-semibold uppercase ${STATE_STYLE[w.state]}`}>{w.state}</span>
                      {w.defaultRoute.length > 0 && <span className="rounded bg-sky-100 px-1.5 py-0.5 text-[10px] font-semibold text-sky-800">DEFAULT ROUTE ({w.defaultRoute.join(', ')})</span>}
                    </div>
                    <p>
                      {w.connections.toLocaleString('en-US')} connections
                      {w.stale > 0 && <span className="ml-2 rounded bg-red-100 px-1.5 text-[10px] font-semibold text-red-800">{w.stale} STALE</span>}
                    </p>
                    <p className="mt-1 font-medium">Addresses</p>
                    <ul className="font-mono text-xs">
                      {w.addresses.length === 0 && <li className="font-sans text-slate-500">none</li>}
                      {w.addresses.map((a) => (
                        <li key={a.address}>
                          {a.address}/{a.prefixLength} · {a.connections}
                        </li>
                      ))}
                    </ul>
                    {w.former.length > 0 && (
                      <>
                        <p className="mt-1 font-medium">Former addresses</p>
                        <ul className="font-mono text-xs" data-testid="former-addresses">
                          {w.former.map((f) => (
                            <li key={f.address}>
                              {f.address} <span className="font-sans text-slate-600">was on {w.name} until <LocalTime iso={f.until} /></span> · {f.connections}
                            </li>
                          ))}
                        </ul>
                      </>
                    )}
                    {canDelete && (
                      <button type="button" className={`${buttonClass.dangerOutline} mt-3`} onClick={() => setCleanup(w.name)} data-testid="wan-cleanup">
                        Clean up {w.name}…
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            </section>
            <PolicyList policies={data.policies} canAudit={canAudit} />
            <section aria-labelledby="interfaces-heading" className="space-y-2">
              <h2 id="interfaces-heading" className="text-lg font-semibold">
                Interfaces
              </h2>
              {/* Focusable: on a phone the table scrolls sideways, and the keyboard must reach what is off-screen. */}
              <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white" tabIndex={0} role="region" aria-label="Interfaces table">
                <table className="w-full text-left text-sm">
                  <thead className="bg-slate-100 text-slate-600">
                    <tr>
                      <th className="px-3 py-2">Name</th>
                      <th className="px-3 py-2">State</th>
                      <th className="px-3 py-2">Kind</th>
                      <th className="px-3 py-2">Addresses</th>
                      <th className="px-3 py-2">WAN</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.interfaces.map((i) => (
                      <tr key={i.index} className="border-t border-slate-100" data-testid="interface-row">
                        <td className="px-3 py-1.5 font-medium">{i.name}</td>
                        <td className="px-3 py-1.5">{!i.up ? 'down' : i.carrier ? 'up' : 'no carrier'}</td>
                        <td className="px-3 py-1.5">{i.kind ?? '—'}</td>
                        <td className="px-3 py-1.5 font-mono text-xs">{i.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(' ') || '—'}</td>
                        <td className="px-3 py-1.5">{i.wan ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
            <section aria-labelledby="addresses-heading" className="space-y-2">
              <h2 id="addresses-heading" className="text-lg font-semibold">
                External addresses in use
              </h2>
              <p className="text-sm text-slate-600">
                {data.stale.toLocaleString('en-US')} stale of {data.snapshot.total.toLocaleString('en-US')} connections in the snapshot of <LocalTime iso={data.snapshot.takenAt} />. Notifications
                applied {data.stats.changes}, overflows {data.stats.overflows}, resyncs {data.stats.resyncs}.
              </p>
              <ul className="flex flex-wrap gap-2 text-sm">
                {data.connectionsPerAddress.map((a) => (
                  <li key={a.address} className={`rounded border px-2 py-1 font-mono ${a.stale ? 'border-red-300 bg-red-50' : 'border-slate-300 bg-white'}`}>
                    <Link href={`/?ip=${encodeURIComponent(a.address)}`} className="underline">
                      {a.address}
                    </Link>{' '}
                    <span className="font-sans text-slate-600">
                      {a.wan} · {a.connections}
                      {a.stale ? ' · stale' : ''}
                    </span>
                  </li>
                ))}
              </ul>
            </section>
          </>
        )}
        <NameFiles attempt={attempt} />
      </div>
      {cleanup !== undefined && (
        <UplinkCleanup
          wan={cleanup || undefined}
          onClose={closeCleanup}
          onDone={(summary) => {
            closeCleanup();
            setMessage(summary);
            setAttempt((n) => n + 1);
            refreshNotices();
          }}
        />
      )}
    </>
  );
}
