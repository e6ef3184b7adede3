'use client';
// Changing one setting: the new value (checked against the range as it is typed), the change as a before/after
// diff, Apply; then what the kernel now has and the line that keeps it across a reboot, with a copy button.
import { useId, useState, type FormEvent } from 'react';
import { ApiError, apiRequest } from '@/app/components/api/http';
import type { ApiSetting, SettingChangeResponse, SettingsResponse } from '@/app/components/api/types';
import { Dialog } from '@/app/components/ui/Dialog';
import { ErrorPanel } from '@/app/components/ui/ErrorPanel';
import { buttonClass } from '@/app/components/ui/buttons';
import { CopyLine } from './CopyLine';

function problemOf(setting: ApiSetting, text: string): string | null {
  const range = setting.range;
  if (!range) return 'this setting cannot be changed here';
  if (!/^\d+$/.test(text.trim())) return 'enter a whole number';
  const value = Number(text);
  if (range.choices) return value in range.choices ? null : `must be one of ${Object.keys(range.choices).join(', ')}`;
  if (value < range.min || value > range.max) return `must be from ${range.min} to ${range.max}${setting.unit ? ` ${setting.unit}` : ''}`;
  return null;
}

function Diff({ keyName, before, after, testId }: { keyName: string; before: string; after: string; testId: string }) {
  return (
    <div className="rounded-md border border-slate-300 font-mono text-sm" data-testid={testId}>
      <p className="border-b border-slate-300 bg-slate-100 px-3 py-1 text-xs text-slate-700">{keyName}</p>
      <p className="bg-red-50 px-3 py-1 text-red-900" data-testid="diff-before">
        <span aria-hidden="true">- </span>
        <span className="sr-only">before: </span>
        {before}
      </p>
      <p className="bg-emerald-50 px-3 py-1 text-emerald-900" data-testid="diff-after">
        <span aria-hidden="true">+ </span>
        <span className="sr-only">after: </span>
        {after}
      </p>
    </div>
  );
}

export function ChangeDialog({
  setting,
  namespace,
  onClose,
  onApplied,
}: {
  setting: ApiSetting;
  namespace: SettingsResponse['namespace'];
  onClose: () => void;
  onApplied: () => void;
}) {
  const inputId = useId();
  const hintId = useId();
  const [text, setText] = useState(setting.value);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [result, setResult] = useState<SettingChangeResponse | null>(null);
  const problem = problemOf(setting, text);
  const unchanged = text.trim() === setting.value;
  const where = namespace.name ? `namespace ${namespace.name}` : "the console's own namespace";

  const apply = async (event?: FormEvent) => {
    event?.preventDefault();
    if (problem || unchanged || busy) return;
    setBusy(true);
    setError(null);
    try {
      setResult(await apiRequest<SettingChangeResponse>('/api/settings', { method: 'POST', body: { name: setting.name, value: Number(text) } }));
      onApplied();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, 'client', String(failure)));
    } finally {
      setBusy(false);
    }
  };

  if (result) {
    return (
      <Dialog title={`Changed ${result.setting.key}`} onClose={onClose} testId="setting-result" footer={<button type="button" className={buttonClass.primary} onClick={onClose} data-autofocus>Close</button>}>
        <p className="mb-2 text-sm text-slate-700">
          Applied in {where}. It takes effect {result.setting.takesEffect}.
        </p>
        <Diff keyName={result.setting.key} before={result.before} after={result.after} testId="setting-applied-diff" />
        <h3 className="mt-4 mb-1 text-sm font-semibold">Keep it after a reboot</h3>
        <p className="mb-2 text-sm text-slate-700" data-testid="persistence-hint">
          {result.persistence.hint}
        </p>
        <CopyLine text={result.persistence.text} label={result.persistence.kind === 'sysctl.d' ? 'The line for /etc/sysctl.d' : 'The command'} />
      </Dialog>
    );
  }

  const footer = (
    <>
      <button type="button" className={buttonClass.secondary} onClick={onClose}>
        Cancel
      </button>
      <button type="submit" form={`${inputId}-form`} className={buttonClass.primary} disabled={Boolean(problem) || unchanged || busy} data-testid="setting-apply">
        {busy ? 'Applying…' : 'Apply'}
      </button>
    </>
  );

  return (
    <Dialog title={`Change ${setting.key}`} onClose={onClose} testId="setting-dialog" footer={footer}>
      <form id={`${inputId}-form`} onSubmit={apply} noValidate>
        <p className="mb-3 text-sm text-slate-700">{setting.meaning}</p>
        <label htmlFor={inputId} className="block text-sm font-medium">
          New value{setting.unit ? ` (${setting.unit})` : ''}
        </label>
        {setting.range?.choices ? (
          <select id={inputId} value={text} onChange={(e) => setText(e.target.value)} className="mt-1 rounded border border-slate-300 px-2 py-1" aria-describedby={hintId} data-testid="setting-input">
            {Object.entries(setting.range.choices).map(([value, label]) => (
              <option key={value} value={value}>
                {value} ({label})
              </option>
            ))}
          </select>
        ) : (
          <input
            id={inputId}
            inputMode="numeric"
            value={text}
            onChange={(e) => setText(e.target.value)}
            className="mt-1 w-48 rounded border border-slate-300 px-2 py-1 font-mono"
            aria-describedby={hintId}
            aria-invalid={Boolean(problem)}
            data-testid="setting-input"
          />
        )}
        <p id={hintId} className={`mt-1 text-xs ${problem ? 'text-red-800' : 'text-slate-600'}`} data-testid="setting-input-hint">
          {problem ?? (setting.range && !setting.range.choices ? `From ${setting.range.min} to ${setting.range.max}.` : '')}
          {setting.kernelDefault !== null && ` Kernel default: ${setting.kernelDefault}.`}
        </p>
        <h3 className="mt-4 mb-1 text-sm font-semibold">The change</h3>
        {unchanged || problem ? (
          <p className="text-sm text-slate-600">{unchanged ? 'Enter a different value to see the change.' : 'Correct the value to see the change.'}</p>
        ) : (
          <Diff keyName={setting.key} before={setting.value} after={String(Number(text))} testId="setting-diff" />
        )}
        <p className="mt-3 text-sm text-slate-700">
          Applies to {where}, in the running kernel, {setting.takesEffect}.
        </p>
        {error && (
          <div className="mt-3">
            <ErrorPanel title="The change failed" error={error} />
          </div>
        )}
      </form>
    </Dialog>
  );
}
