'use client';
// "Who used EXTERNAL[:PORT] at TIME?": the abuse-report question, answered from the history and the live table.
// The time is typed in the browser's zone and sent with its UTC offset; the answer downloads as CSV or JSON.
import { useState, type FormEvent } from 'react';
import { ApiError, apiRequest } from '@/app/components/api/http';
import { formatBytes, formatDuration, formatTime, hostPort, withOffset, zoneOffset } from '@/app/components/format';
import { buttonClass } from '@/app/components/ui/buttons';
import { useBrowserValue } from '@/app/components/ui/LocalTime';
import type { ApiNatLookup } from '@/lib/console/history-types';
import { CAUSE_LABELS } from '@/lib/history/cause-names';

export function NatLookup() {
  const [values, setValues] = useState({ address: '', port: '', at: '', window: '300', protocol: '' });
  const [answer, setAnswer] = useState<ApiNatLookup | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [query, setQuery] = useState('');
  // The browser's zone is known only in the browser (the server renders the page first, in its own zone).
  const offset = useBrowserValue(() => zoneOffset(new Date()), '');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const params = new URLSearchParams({ address: values.address.trim(), at: values.at ? withOffset(values.at) : '', window: values.window.trim() || '300' });
    if (values.port.trim()) params.set('port', values.port.trim());
    if (values.protocol) params.set('protocol', values.protocol);
    const text = params.toString();
    apiRequest<ApiNatLookup>(`/api/history/nat-lookup?${text}`).then(
      (next) => {
        setAnswer(next);
        setQuery(text);
        setError(null);
      },
      (caught: unknown) => {
        setAnswer(null);
        setError(caught instanceof ApiError ? caught : new ApiError(0, 'network', String(caught)));
      },
    );
  };

  const field = (name: keyof typeof values, label: string, extra: Record<string, string> = {}) => (
    <label className="flex flex-col">
      {label}
      <input name={name} value={values[name]} onChange={(e) => setValues({ ...values, [name]: e.target.value })} className="rounded border px-2 py-1" data-testid={`nat-${name}`} {...extra} />
    </label>
  );

  return (
    <section className="mb-4 rounded border p-3" aria-labelledby="nat-lookup-title">
      <h2 id="nat-lookup-title" className="mb-2 font-semibold">
        NAT lookup: who used an external address and port at a time?
      </h2>
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3 text-sm" aria-label="NAT lookup">
        {field('address', 'External address', { required: 'true', placeholder: '203.0.113.1' })}
        {field('port', 'Port', { inputMode: 'numeric', placeholder: 'any' })}
        {field('at', `Time (your zone${offset && `, UTC${offset}`})`, { type: 'datetime-local', step: '1', required: 'true' })}
        {field('window', 'Window ± seconds', { inputMode: 'numeric' })}
        <label className="flex flex-col">
          Protocol
          <select value={values.protocol} onChange={(e) => setValues({ ...values, protocol: e.target.value })} className="rounded border px-2 py-1" data-testid="nat-protocol">
            <option value="">any</option>
            {['tcp', 'udp', 'icmp', 'icmpv6'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <button type="submit" className={buttonClass.primary} data-testid="nat-submit">
          Look up
        </button>
        {answer && (
          <>
            <a className={buttonClass.secondary} href={`/api/history/nat-lookup?${query}&format=csv`}>
              Export lookup CSV
            </a>
            <a className={buttonClass.secondary} href={`/api/history/nat-lookup?${query}&format=json`}>
              Export lookup JSON
            </a>
          </>
        )}
      </form>
      {error && (
        <p role="alert" className="mt-2 rounded bg-red-50 px-3 py-2 text-sm text-red-900" data-testid="nat-error">
          {error.message}
        </p>
      )}
      {answer && (
        <div className="mt-2 overflow-x-auto">
          <p className="mb-1 text-sm" role="status" data-testid="nat-summary">
            {answer.items.length === 0
              ? `Nobody used ${hostPort(answer.query.address, answer.query.port)} within ${formatDuration(answer.query.windowSeconds)} of ${formatTime(answer.query.at)}.`
              : `${answer.items.length} ${answer.items.length === 1 ? 'connection' : 'connections'} used ${hostPort(answer.query.address, answer.query.port)} within ${formatDuration(answer.query.windowSeconds)} of ${formatTime(answer.query.at)}.`}
          </p>
          {answer.items.length > 0 && (
            <table className="w-full border-collapse text-sm" aria-label="NAT lookup results">
              <thead>
                <tr className="border-b text-left">
                  <th className="p-1">LAN host</th>
                  <th className="p-1">Original</th>
                  <th className="p-1">Reply</th>
                  <th className="p-1">Started</th>
                  <th className="p-1">Ended</th>
                  <th className="p-1">Bytes → / ←</th>
                  <th className="p-1">Cause</th>
                </tr>
              </thead>
              <tbody>
                {answer.items.map((m) => (
                  <tr key={`${m.source}-${m.key ?? m.id}`} className="border-b" data-testid="nat-row">
                    <td className="p-1" data-testid="nat-lan">
                      <span className="font-mono">{hostPort(m.lan.address, m.lan.port)}</span>
                      {m.lanName && (
                        <span className="block" data-testid="nat-lan-name">
                          {m.lanName}
                          {m.lanMac && <span className="font-mono"> ({m.lanMac})</span>}
                        </span>
                      )}
                    </td>
                    <td className="p-1 font-mono">
                      {m.protocol} {hostPort(m.original.src, m.original.sport)} → {hostPort(m.original.dst, m.original.dport)}
                    </td>
                    <td className="p-1 font-mono">
                      {hostPort(m.reply.src, m.reply.sport)} → {hostPort(m.reply.dst, m.reply.dport)}
                    </td>
                    <td className="p-1">{formatTime(m.startedAt)}</td>
                    <td className="p-1">{m.source === 'table' ? 'still open' : m.endedAfter ? `${formatTime(m.endedAfter)} – ${formatTime(m.endedAt)}` : formatTime(m.endedAt)}</td>
                    <td className="p-1">{m.counters ? `${formatBytes(m.counters.original.bytes)} / ${formatBytes(m.counters.reply.bytes)}` : '—'}</td>
                    <td className="p-1">{m.cause ? CAUSE_LABELS[m.cause] : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
