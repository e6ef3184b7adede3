// The process-wide history: one store on the console's database and one recorder for the managed namespace,
// started once per process (instrumentation.ts at server start, or the first route that needs it). Kept on
// globalThis: Next bundles instrumentation and every route separately.
import { onShutdown } from '@/lib/lifecycle';
import { eventsLost, logger, registerHealthCheck } from '@/lib/observability';
import { sharedStore } from '@/lib/store';
import { historyConfig, type HistoryConfig } from './config';
import { ConnectionLines } from './lines';
import { HistoryRecorder } from './recorder';
import { HistoryStore } from './store';
import { processValue } from '@/lib/process';

export interface HistoryRuntime {
  config: HistoryConfig;
  store: HistoryStore;
  /** Undefined when the recorder is disabled (CONNTRACK_HISTORY=off). */
  recorder: HistoryRecorder | undefined;
  /** Settles once the recorder subscribed and seeded (or failed: see recorder.status().error). */
  ready: Promise<void>;
}

function create(): HistoryRuntime {
  const config = historyConfig();
  const store = new HistoryStore(sharedStore(), config);
  if (!config.enabled) return { config, store, recorder: undefined, ready: Promise.resolve() };
  const netns = process.env.CONNTRACK_NETNS || undefined;
  const lines = config.linesPath ? new ConnectionLines({ path: config.linesPath, maxBytes: config.linesMaxBytes, keep: config.linesKeep, netns }) : undefined;
  // The lost-events counter exists from the start (at 0), so increase() in an alert rule sees its first loss.
  eventsLost();
  const recorder = new HistoryRecorder({
    netns,
    store,
    config,
    lines,
    log: (message) => logger().warn(message),
    onLost: (lost) => eventsLost().inc(lost),
  });
  // Started a microtask later: the console service that creates this runtime first names the snapshot source its
  // seeding dump goes through (readSnapshotsWith), so a refresh meanwhile joins that dump.
  const ready = Promise.resolve()
    .then(() => recorder.start())
    .catch((error: unknown) => {
      logger().error({ err: error }, 'history: the recorder could not start');
    });
  // The history table is read through once in the background: a corrupt one stops recording, not the console.
  void ready.then(() => recorder.checkStorage()).catch((error: unknown) => logger().error({ err: error }, 'history: the table check failed'));
  registerHealthCheck('recorder', () => {
    const status = recorder.status();
    const events = `net.netfilter.nf_conntrack_events=${String(status.eventsSysctl.value)}: ${status.eventsMeaning}`;
    if (!status.running) return { status: 'fail', detail: `${status.error ?? 'not running'}; ${events}` };
    if (status.writeError) return { status: 'fail', detail: `${status.unwritten} rows not written yet (${status.writeError}), ${status.droppedRows} dropped; ${events}` };
    const resubscribed = status.namespace.resubscribed ? `, subscribed again ${status.namespace.resubscribed} times (namespace replaced or socket failed)` : '';
    return { status: 'ok', detail: `${status.recorded} rows recorded (written by the ${status.writer === 'thread' ? 'writer thread' : 'main thread'}), ${status.overflows} overflows${resubscribed}; namespace ${status.namespace.name ?? '(own)'} ${status.namespace.identity ?? ''}; ${events}` };
  });
  // Rows still buffered are written before the server exits (better-sqlite3 is synchronous, so 'exit' works too).
  onShutdown('history', () => recorder.stop());
  process.once('exit', () => recorder.stop());
  return { config, store, recorder, ready };
}

/** The history of this process, starting the recorder the first time. */
export function historyRuntime(): HistoryRuntime {
  return processValue('history', create);
}
