// A UDP connection that ended (expired), numbered: what the recorder's unit tests feed it as DESTROY events.
import type { Connection, ConntrackEvent } from '@/lib/conntrack';
import type { HistoryRecorder } from '@/lib/history';

export const endedUdp = (i: number): Connection => ({
  family: 'ipv4',
  original: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, sport: 1000 + (i % 60000), dport: 53 },
  reply: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 17, sport: 53, dport: 1000 + (i % 60000) },
  id: i + 1,
  status: 0,
  zone: 0,
  timeout: 0,
});

/** The recorder's event handler, to feed it events without a socket. */
export const eventFeed = (recorder: HistoryRecorder): ((event: ConntrackEvent) => void) => (recorder as unknown as { onEvent(event: ConntrackEvent): void }).onEvent.bind(recorder);
