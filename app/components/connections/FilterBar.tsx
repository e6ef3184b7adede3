'use client';
// The filter form and the chips of what is active. Filters apply on submit (Enter or Apply): at a million
// entries each change is a query, so typing must not fire one per key.
import { useState, type FormEvent } from 'react';
import { PROTOCOL_NAMES, STATUS_FLAGS, TCP_STATES } from '@/lib/conntrack/constants';
import { buttonClass } from '../ui/buttons';
import { usePhoneFold } from '../ui/usePhoneFold';
import { FILTER_KEYS, FILTER_LABELS, type FilterKey, type Filters } from './query';

const IP_KEYS = ['ip', 'src', 'dst', 'replyDst', 'replySrc'] as const;
const PORT_KEYS = ['port', 'sport', 'dport'] as const;
type IpKey = (typeof IP_KEYS)[number];
type PortKey = (typeof PORT_KEYS)[number];

const IP_CHOICES: { key: IpKey; label: string }[] = [
  { key: 'ip', label: 'any direction' },
  { key: 'src', label: 'source' },
  { key: 'dst', label: 'destination' },
  { key: 'replyDst', label: 'external / NAT (reply dst)' },
  { key: 'replySrc', label: 'reply source' },
];
const PORT_CHOICES: { key: PortKey; label: string }[] = [
  { key: 'port', label: 'any' },
  { key: 'sport', label: 'source' },
  { key: 'dport', label: 'destination' },
];
const STATUS_CHOICES = ['ASSURED', 'UNREPLIED', 'SEEN_REPLY', 'SRC_NAT', 'DST_NAT', ...STATUS_FLAGS.filter((f) => !['ASSURED', 'SEEN_REPLY', 'SRC_NAT', 'DST_NAT'].includes(f))];

export interface FilterBarProps {
  filters: Filters;
  /** Messages for fields the server (or the URL check) rejected. */
  problems: Partial<Record<string, string>>;
  onApply: (filters: Filters) => void;
}

const field = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm';
const invalid = 'border-red-500 bg-red-50';

function Select({ label, value, onChange, options, testId, bad }: { label: string; value: string; onChange: (v: string) => void; options: { value: string; label: string }[]; testId: string; bad?: boolean }) {
  const known = options.some((o) => o.value === value);
  return (
    <label className="flex flex-col gap-0.5 text-xs text-slate-600">
      {label}
      <select aria-label={label} data-testid={testId} className={`${field} ${bad ? invalid : ''}`} value={value} onChange={(e) => onChange(e.target.value)}>
        {!known && <option value={value}>{value}</option>}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function FilterBar({ filters, problems, onApply }: FilterBarProps) {
  const initialIpKey = IP_KEYS.find((k) => filters[k]) ?? 'ip';
  const initialPortKey = PORT_KEYS.find((k) => filters[k]) ?? 'port';
  const [draft, setDraft] = useState<Filters>(filters);
  const [ipKey, setIpKey] = useState<IpKey>(initialIpKey);
  const [ipValue, setIpValue] = useState(filters[initialIpKey] ?? '');
  const [portKey, setPortKey] = useState<PortKey>(initialPortKey);
  const [portValue, setPortValue] = useState(filters[initialPortKey] ?? '');
  // Applied filters (or a link) changed: start the form from them. The form stays mounted, so focus stays on
  // the control that applied them (Apply, a chip's ×, Enter in a field).
  const appliedKey = JSON.stringify(filters);
  const [shown, setShown] = useState(appliedKey);
  if (shown !== appliedKey) {
    setShown(appliedKey);
    setDraft(filters);
    setIpKey(initialIpKey);
    setIpValue(filters[initialIpKey] ?? '');
    setPortKey(initialPortKey);
    setPortValue(filters[initialPortKey] ?? '');
  }
  const set = (key: FilterKey) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next: Filters = { ...draft };
    // The IP and port boxes stand for the key they showed; other keys of those groups (from a link) stay.
    delete next[initialIpKey];
    delete next[initialPortKey];
    if (ipValue.trim()) next[ipKey] = ipValue.trim();
    if (portValue.trim()) next[portKey] = portValue.trim();
    for (const key of FILTER_KEYS) if (!next[key]?.trim()) delete next[key];
    onApply(next);
  };

  const remove = (key: FilterKey) => {
    const next = { ...filters };
    delete next[key];
    onApply(next);
  };

  const active = FILTER_KEYS.filter((k) => filters[k]);
  // Folded on a phone unless a value needs fixing; it stays as it is on Apply, so focus stays on Apply.
  const fold = usePhoneFold({ active: active.length, open: Object.keys(problems).length > 0 });
  const ipProblem = IP_KEYS.map((k) => problems[k]).find(Boolean);
  const portProblem = PORT_KEYS.map((k) => problems[k]).find(Boolean);
  return (
    <section aria-label="Filters" className="space-y-2 border-b border-slate-200 bg-slate-50 px-4 py-3 sm:px-6">
      {/* On a phone the fields fold behind one button, so the first rows are on the first screen. */}
      {fold.toggle}
      <form id={fold.id} onSubmit={submit} className={`${fold.display} flex-wrap items-end gap-3 sm:flex`} data-testid="filter-form">
        <Select
          label="Protocol"
          testId="filter-protocol"
          value={draft.protocol ?? ''}
          onChange={set('protocol')}
          bad={!!problems.protocol}
          options={[{ value: '', label: 'any' }, ...Object.values(PROTOCOL_NAMES).map((p) => ({ value: p, label: p }))]}
        />
        <Select label="TCP state" testId="filter-state" value={draft.state ?? ''} onChange={set('state')} bad={!!problems.state} options={[{ value: '', label: 'any' }, ...TCP_STATES.map((s) => ({ value: s, label: s }))]} />
        <Select label="Flags" testId="filter-status" value={draft.status ?? ''} onChange={set('status')} bad={!!problems.status} options={[{ value: '', label: 'any' }, ...STATUS_CHOICES.map((s) => ({ value: s, label: s }))]} />
        <Select
          label="Family"
          testId="filter-family"
          value={draft.family ?? ''}
          onChange={set('family')}
          bad={!!problems.family}
          options={[
            { value: '', label: 'any' },
            { value: 'ipv4', label: 'IPv4' },
            { value: 'ipv6', label: 'IPv6' },
          ]}
        />
        <div className="flex w-full flex-col gap-0.5 text-xs text-slate-600 sm:w-auto">
          IP address or prefix
          <div className="flex min-w-0">
            <select aria-label="IP direction" data-testid="filter-ip-key" className={`${field} rounded-r-none`} value={ipKey} onChange={(e) => setIpKey(e.target.value as IpKey)}>
              {IP_CHOICES.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.label}
                </option>
              ))}
            </select>
            <input aria-label="IP address" data-testid="filter-ip" className={`${field} -ml-px w-0 min-w-0 flex-1 rounded-l-none font-mono sm:w-48 sm:flex-none ${ipProblem ? invalid : ''}`} value={ipValue} onChange={(e) => setIpValue(e.target.value)} placeholder="192.0.2.1 or 2001:db8::/32" aria-invalid={!!ipProblem} />
          </div>
        </div>
        <div className="flex w-full flex-col gap-0.5 text-xs text-slate-600 sm:w-auto">
          Port
          <div className="flex">
            <select aria-label="Port direction" data-testid="filter-port-key" className={`${field} rounded-r-none`} value={portKey} onChange={(e) => setPortKey(e.target.value as PortKey)}>
              {PORT_CHOICES.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.label}
                </option>
              ))}
            </select>
            <input aria-label="Port" data-testid="filter-port" className={`${field} -ml-px w-0 min-w-0 flex-1 rounded-l-none font-mono sm:w-28 sm:flex-none ${portProblem ? invalid : ''}`} value={portValue} onChange={(e) => setPortValue(e.target.value)} placeholder="443 or 1000-2000" aria-invalid={!!portProblem} />
          </div>
        </div>
        {(
          [
            ['mark', 'Mark (value/mask)', 'w-32', '0x100/0x3f00'],
            ['zone', 'Zone', 'w-16', '0'],
            ['helper', 'Helper', 'w-20', 'ftp'],
            ['label', 'Label', 'w-32', 'name or bit'],
            ['host', 'Host name', 'w-36', 'laptop.lan or *.lan'],
          ] as const
        ).map(([key, label, width, placeholder]) => (
          <label key={key} className="flex flex-col gap-0.5 text-xs text-slate-600">
            {label}
            <input
              aria-label={label}
              data-testid={`filter-${key}`}
              className={`${field} ${width} font-mono ${problems[key] ? invalid : ''}`}
              value={draft[key] ?? ''}
              onChange={(e) => set(key)(e.target.value)}
              placeholder={placeholder}
              aria-invalid={!!problems[key]}
            />
          </label>
        ))}
        <label className="flex flex-col gap-0.5 text-xs text-slate-600">
          Text
          <input aria-label="Search text" data-testid="filter-q" data-shortcut="search" className={`${field} w-48 ${problems.q ? invalid : ''}`} value={draft.q ?? ''} onChange={(e) => set('q')(e.target.value)} placeholder="search any field" />
        </label>
        <button type="submit" className={buttonClass.primary} data-testid="apply-filters">
          Apply
        </button>
        {active.length > 0 && (
          <button type="button" className={buttonClass.ghost} onClick={() => onApply({})} data-testid="clear-filters">
            Clear all
          </button>
        )}
      </form>
      {active.length > 0 && (
        <ul className="flex flex-wrap gap-1.5" aria-label="Active filters">
          {active.map((key) => (
            <li key={key} data-testid={`chip-${key}`} className={`flex items-center gap-1 rounded-full border px-2 py-0.5 text-xs ${problems[key] ? 'border-red-400 bg-red-50 text-red-800' : 'border-sky-300 bg-sky-50 text-sky-900'}`}>
              <span>
                {FILTER_LABELS[key]} = <span className="font-mono">{filters[key]}</span>
                {problems[key] && <span>: {problems[key]}</span>}
              </span>
              <button type="button" aria-label={`Remove filter ${FILTER_LABELS[key]}`} onClick={() => remove(key)} className="rounded-full px-1 hover:bg-sky-200">
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
