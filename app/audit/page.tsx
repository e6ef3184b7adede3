// The audit log (administrators): filters in the query string, newest first, rendered on the server.
import type { Metadata } from 'next';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, auditQuerySchema, authService, type AuditQuery } from '@/lib/auth';
import { signedIn, type Search } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { LocalTime } from '../components/ui/LocalTime';
import { pageTitle } from '../components/shell/pages';

export const metadata: Metadata = { title: pageTitle('/audit') };

const FIELDS = ['action', 'actor', 'outcome', 'since', 'until'] as const;

function first(search: Search): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(search)) {
    const v = Array.isArray(value) ? value[0] : value;
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

function pageLink(values: Record<string, string>, offset: number): string {
  return `/audit?${new URLSearchParams({ ...values, offset: String(offset) }).toString()}`;
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const { me } = await signedIn('/audit', search);
  const values = first(search);
  const parsed = auditQuerySchema.safeParse(values);
  const query: AuditQuery = parsed.success ? parsed.data : { limit: 100, offset: 0 };
  const { matched, items } = authService().audit.query(query);
  return (
    <ConsoleShell page="/audit" me={me}>
      <div className="w-full px-4 py-4 sm:px-6">
        <h1 className="mb-4 text-xl font-semibold">Audit log</h1>
        <form method="get" className="mb-4 flex flex-wrap items-end gap-3 text-sm" aria-label="Audit filters">
          <label className="flex flex-col">
            Action
            <select name="action" defaultValue={values.action ?? ''} className="rounded border px-2 py-1" data-testid="audit-action">
              <option value="">any</option>
              {AUDIT_ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col">
            Actor
            <input name="actor" defaultValue={values.actor ?? ''} className="rounded border px-2 py-1" />
          </label>
          <label className="flex flex-col">
            Outcome
            <select name="outcome" defaultValue={values.outcome ?? ''} className="rounded border px-2 py-1">
              <option value="">any</option>
              {AUDIT_OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col">
            Since (ISO)
            <input name="since" defaultValue={values.since ?? ''} placeholder="2026-01-31T00:00:00Z" className="rounded border px-2 py-1" />
          </label>
          <label className="flex flex-col">
            Until (ISO)
            <input name="until" defaultValue={values.until ?? ''} className="rounded border px-2 py-1" />
          </label>
          <button type="submit" className="rounded bg-slate-900 px-3 py-1.5 text-white">
            Filter
          </button>
        </form>
        {!parsed.success && (
          <p role="alert" className="mb-3 rounded bg-red-50 px-3 py-2 text-sm text-red-800">
            Ignored the filters: {parsed.error.issues[0]?.path.join('.')} {parsed.error.issues[0]?.message}
          </p>
        )}
        <p className="mb-2 text-sm text-slate-600" data-testid="audit-matched">
          {matched} entries
        </p>
        <table className="w-full border-collapse text-sm" aria-label="Audit log">
          <thead>
            <tr className="border-b text-left">
              {['When', 'Who', 'Role', 'From', 'Action', 'Target', 'Expected', 'Affected', 'Outcome', 'Details'].map((h) => (
                <th key={h} className="px-2 py-1">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} className="border-b align-top" data-testid="audit-row">
                <td className="px-2 py-1 whitespace-nowrap">
                  <LocalTime iso={e.at} />
                </td>
                <td className="px-2 py-1">
                  {e.actorKind === 'token' ? 'token ' : e.actorKind === 'policy' ? 'policy ' : ''}
                  {e.actor}
                </td>
                <td className="px-2 py-1">{e.role ?? ''}</td>
                <td className="px-2 py-1">{e.source}</td>
                <td className="px-2 py-1">{e.action}</td>
                <td className="px-2 py-1">{e.target ?? ''}</td>
                <td className="px-2 py-1">{e.expected ?? ''}</td>
                <td className="px-2 py-1">{e.affected ?? ''}</td>
                <td className="px-2 py-1">{e.outcome}</td>
                <td className="max-w-md truncate px-2 py-1 font-mono text-xs" title={e.details ? JSON.stringify(e.details) : ''}>
                  {e.details ? JSON.stringify(e.details) : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <nav className="mt-3 flex gap-3 text-sm" aria-label="Audit log pages">
          {query.offset > 0 && <a href={pageLink(pickFilters(values), Math.max(0, query.offset - query.limit))}>← newer</a>}
          {query.offset + items.length < matched && <a href={pageLink(pickFilters(values), query.offset + query.limit)}>older →</a>}
        </nav>
      </div>
    </ConsoleShell>
  );
}

function pickFilters(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(FIELDS.filter((f) => values[f] !== undefined).map((f) => [f, values[f]]));
}
