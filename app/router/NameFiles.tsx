'use client';
// The Router page's report on the files that name hosts: which exist, how many names each gave, when it was read,
// and the lines it did not understand (the rest of such a file still counts), so a broken lease file shows here
// and not only in the log.
import { apiRequest } from '../components/api/http';
import type { NamesStatusResponse } from '../components/api/types';
import { useApi } from '../components/api/useApi';
import { ErrorPanel } from '../components/ui/ErrorPanel';
import { LocalTime } from '../components/ui/LocalTime';


export function NameFiles({ attempt }: { attempt: number }) {
  const status = useApi<NamesStatusResponse>(`names#${attempt}`, (signal) => apiRequest<NamesStatusResponse>('/api/names', { signal }));
  const data = status.data;
  return (
    <section aria-labelledby="name-files-heading" className="space-y-2" data-testid="name-files">
      <h2 id="name-files-heading" className="text-lg font-semibold">
        Host names
      </h2>
      {status.error && <ErrorPanel title="Could not read the name files' status" error={status.error} />}
      {data && (
        <>
          <p className="text-sm text-slate-600">
            Names beside addresses come from these files, first match wins. Reverse DNS is{' '}
            {data.reverseDns.enabled ? `offered (a switch on Connections and History; ${data.reverseDns.timeoutMs / 1000} s timeout, kept ${data.reverseDns.cacheSeconds / 3600} h)` : 'off (CONNTRACK_REVERSE_DNS)'}.
          </p>
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm" aria-label="Name files">
              <thead>
                <tr className="border-b">
                  <th className="p-1">File</th>
                  <th className="p-1">Format</th>
                  <th className="p-1">Names</th>
                  <th className="p-1">Read</th>
                  <th className="p-1">Lines not understood</th>
                </tr>
              </thead>
              <tbody>
                {data.files.map((file) => (
                  <tr key={file.path} className="border-b align-top" data-testid="name-file" data-path={file.path} data-present={file.present}>
                    <td className="p-1 font-mono break-all">{file.path}</td>
                    <td className="p-1">{file.format}</td>
                    <td className="p-1 tabular-nums">{file.present ? file.names : 'not there'}</td>
                    <td className="p-1">{file.readAt ? <LocalTime iso={file.readAt} /> : '—'}</td>
                    <td className="p-1">
                      {file.problems.length ? (
                        <ul className="text-red-800" data-testid="name-file-problems">
                          {file.problems.map((problem) => (
                            <li key={problem} className="font-mono text-xs">
                              {problem}
                            </li>
                          ))}
                        </ul>
                      ) : (
                        'none'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
