'use client';
// The Settings page: every net.netfilter sysctl of the managed namespace, grouped, with what it means; an
// administrator changes one through a dialog that shows the change as a diff before applying it, and afterwards
// the line that keeps it across a reboot.
import { useState } from 'react';
import { apiRequest } from '@/app/components/api/http';
import type { ApiSetting, Me, SettingsResponse } from '@/app/components/api/types';
import { useApi } from '@/app/components/api/useApi';
import { buttonClass } from '@/app/components/ui/buttons';
import { ErrorPanel } from '@/app/components/ui/ErrorPanel';
import { ChangeDialog } from './ChangeDialog';

function namespaceText(namespace: SettingsResponse['namespace']): string {
  const which = namespace.name ? `network namespace ${namespace.name}` : "the console's own network namespace";
  if (namespace.initial === true) return `${which} (the initial, host namespace)`;
  if (namespace.initial === false) return `${which} (not the initial namespace: the table limits are the host's)`;
  return which;
}

function valueText(setting: ApiSetting): string {
  const choice = setting.range?.choices?.[Number(setting.value)];
  return choice ? `${setting.value} (${choice})` : setting.value;
}

/** The reason in a few words; the full one is in the group note or the banner above the tables. */
const READ_ONLY_LABEL: Record<NonNullable<ApiSetting['readOnly']>['reason'], string> = {
  global: 'read-only here: global, set on the host',
  statistic: 'a count the kernel keeps, not a setting',
  unmanaged: 'not changed from the console (use sysctl)',
  'kernel-read-only': 'read-only (the kernel shows it so)',
  'read-only-mount': 'read-only here: /proc/sys is read-only',
  'no-privilege': 'read-only here: no CAP_NET_ADMIN',
};

function DefaultCell({ setting }: { setting: ApiSetting }) {
  if (setting.kernelDefault === null) return <span className="text-slate-600">{setting.defaultNote ?? 'unknown'}</span>;
  const changed = setting.kernelDefault !== setting.value;
  return (
    <span>
      {setting.kernelDefault}
      {changed && <span className="ml-1 rounded bg-amber-100 px-1 text-amber-900">changed</span>}
    </span>
  );
}

/** On a phone the cells stack; this names each one there (the column headers are hidden). */
const Label = ({ children }: { children: string }) => <span className="mr-1 font-medium text-slate-700 sm:hidden">{children}</span>;

function SettingRow({ setting, canChange, onChange }: { setting: ApiSetting; canChange: boolean; onChange: (s: ApiSetting) => void }) {
  const cell = 'px-2 max-sm:block max-sm:py-0.5 sm:py-2';
  return (
    <tr className="border-b border-slate-200 align-top max-sm:block max-sm:py-2" data-testid="setting-row" data-setting={setting.name}>
      <td className={cell}>
        <code className="font-mono text-xs break-all text-slate-900">{setting.key}</code>
        <p className="mt-0.5 text-slate-700">{setting.meaning}</p>
        <p className="mt-0.5 text-xs text-slate-600">Takes effect: {setting.takesEffect}.</p>
      </td>
      <td className={cell} data-testid="setting-value">
        <Label>Value</Label>
        <span className="font-mono">{valueText(setting)}</span>
        {setting.unit && <span className="ml-1 text-xs text-slate-600">{setting.unit}</span>}
      </td>
      <td className={`${cell} text-xs`} data-testid="setting-default">
        <Label>Kernel default</Label>
        <DefaultCell setting={setting} />
      </td>
      <td className={`${cell} text-xs`}>
        {setting.writable ? (
          canChange ? (
            <button type="button" className={buttonClass.secondary} onClick={() => onChange(setting)} aria-label={`Change ${setting.key}`} data-testid="setting-change">
              Change
            </button>
          ) : (
            <span className="text-slate-600">administrators can change it</span>
          )
        ) : (
          setting.readOnly && (
            <span className="text-slate-700" data-testid="setting-read-only" data-reason={setting.readOnly.reason}>
              {READ_ONLY_LABEL[setting.readOnly.reason]}
            </span>
          )
        )}
      </td>
    </tr>
  );
}

/** Outside the initial namespace the limits are the host's: say so, and how to change them there. */
function GlobalLimitsNote({ settings }: { settings: ApiSetting[] }) {
  const global = settings.filter((s) => s.readOnly?.reason === 'global');
  if (global.length === 0) return null;
  const example = global.find((s) => s.name === 'nf_conntrack_max') ?? global[0];
  return (
    <p className="mb-2 rounded-md border border-sky-200 bg-sky-50 px-3 py-2 text-sm text-sky-900" data-testid="settings-global-note">
      {global.map((s) => s.name).join(', ')} {global.length === 1 ? 'is' : 'are'} global: outside the initial namespace the kernel shows {global.length === 1 ? 'it' : 'them'}{' '}
      read-only. Change {global.length === 1 ? 'it' : 'them'} on the host, e.g. <code className="font-mono">sysctl -w {example.key}={example.value}</code>, and keep the value in a
      file under /etc/sysctl.d/.
    </p>
  );
}

function SettingsTable({ settings, canChange, onChange }: { settings: ApiSetting[]; canChange: boolean; onChange: (s: ApiSetting) => void }) {
  return (
    <div>
      <table className="w-full border-collapse text-sm max-sm:block sm:table-fixed">
        <colgroup className="max-sm:hidden">
          <col className="w-[46%]" />
          <col className="w-[16%]" />
          <col className="w-[14%]" />
          <col className="w-[24%]" />
        </colgroup>
        <thead className="max-sm:hidden">
          <tr className="border-b border-slate-300 text-left">
            <th scope="col" className="px-2 py-1 font-medium">
              Setting
            </th>
            <th scope="col" className="px-2 py-1 font-medium">
              Value
            </th>
            <th scope="col" className="px-2 py-1 font-medium">
              Kernel default
            </th>
            <th scope="col" className="px-2 py-1 font-medium">
              Change
            </th>
          </tr>
        </thead>
        <tbody className="max-sm:block">
          {settings.map((setting) => (
            <SettingRow key={setting.name} setting={setting} canChange={canChange} onChange={onChange} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SettingsConsole({ me }: { me: Me }) {
  const settings = useApi<SettingsResponse>('settings', (signal) => apiRequest<SettingsResponse>('/api/settings', { signal }));
  const [editing, setEditing] = useState<ApiSetting | null>(null);
  const canChange = me.permissions.includes('configure');
  const data = settings.data;

  return (
    <div className="w-full px-4 py-4 sm:px-6">
      <h1 className="mb-4 text-xl font-semibold">Settings</h1>
      {settings.error && <ErrorPanel title="The settings could not be read" error={settings.error} action={<button type="button" className={buttonClass.secondary} onClick={settings.reload}>Retry</button>} />}
      {!data && !settings.error && <p className="text-sm text-slate-600">Reading the settings…</p>}
      {data && (
        <>
          <p className="mb-3 text-sm text-slate-700" data-testid="settings-namespace">
            The conntrack settings (net.netfilter sysctls) of {namespaceText(data.namespace)}, as the running kernel has them.
            {canChange ? ' Changes apply to the running kernel only: each shows the line that keeps it after a reboot.' : ' Administrators can change them.'}
          </p>
          {data.readOnlyHere && (
            <p role="status" className="mb-3 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="settings-read-only-here" data-reason={data.readOnlyHere.reason}>
              {data.readOnlyHere.message}
            </p>
          )}
          <p className="mb-4 text-sm text-slate-700">
            There is no nf_conntrack_helper setting any more (removed in Linux 6.0): helpers are assigned by nftables <code className="font-mono">ct helper</code> rules, and an assignment
            applies to connections created afterwards.
          </p>
          {data.groups.map((group) => {
            const table = <SettingsTable settings={group.settings} canChange={canChange} onChange={setEditing} />;
            return (
              <section key={group.id} aria-labelledby={`group-${group.id}`} className="mb-6" data-testid="settings-group" data-group={group.id}>
                <h2 id={`group-${group.id}`} className="text-lg font-semibold">
                  {group.title}
                </h2>
                <p className="mb-2 text-sm text-slate-600">{group.description}</p>
                {group.id === 'table' && data.namespace.initial === false && <GlobalLimitsNote settings={group.settings} />}
                {group.id === 'other' ? (
                  <details>
                    <summary className="cursor-pointer text-sm text-sky-700">Show {group.settings.length} settings</summary>
                    {table}
                  </details>
                ) : (
                  table
                )}
              </section>
            );
          })}
        </>
      )}
      {editing && data && <ChangeDialog setting={editing} namespace={data.namespace} onClose={() => setEditing(null)} onApplied={settings.reload} />}
    </div>
  );
}
