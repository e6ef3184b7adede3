// The lab's resolver, for the console's reverse DNS: a UDP responder on loopback that answers PTR questions from a
// table (address -> name) and NXDOMAIN for any other name, or, started `silent`, takes every question and never
// answers (a dead resolver), or only the questions about some addresses (an upstream that is down for some zones).
// Nothing leaves the machine: it binds 127.0.0.1 and only answers who asked.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { parseAddress } from '@/lib/netlink/address';

export interface LabDns {
  /** "127.0.0.1:PORT": what CONNTRACK_DNS_SERVERS takes. */
  server: string;
  /** Questions received so far, by name (lower-case, no trailing dot). */
  questions: string[];
  close(): Promise<void>;
}

export interface LabDnsOptions {
  names?: Record<string, string>;
  /** Never answer at all, or never answer the questions about these addresses. */
  silent?: boolean | readonly string[];
  /** Default: any free port. */
  port?: number;
}

const TYPE_PTR = 12;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;

/** The reverse-lookup name of an address: 4.3.2.1.in-addr.arpa, or the nibbles of an IPv6 address under ip6.arpa. */
export function ptrName(address: string): string | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return undefined;
  if (isIPv4(address)) return `${[...parsed.bytes].reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (const byte of parsed.bytes) nibbles.push((byte >> 4).toString(16), (byte & 15).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((label) => {
    const bytes = Buffer.from(label, 'ascii');
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/** The question of a query: its name, type and where the question section ends; undefined when malformed. */
function readQuestion(message: Buffer): { name: string; type: number; end: number } | undefined {
  if (message.length < 12 || message.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < message.length) {
    const length = message[at];
    if (length === 0) break;
    // A query's question is never compressed; anything else is not a question this responder answers.
    if (length > 63 || at + 1 + length > message.length) return undefined;
    labels.push(message.toString('ascii', at + 1, at + 1 + length));
    at += 1 + length;
  }
  if (at + 5 > message.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: message.readUInt16BE(at + 1), end: at + 5 };
}

function answer(query: Buffer, question: { type: number; end: number }, name: string | undefined): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, the query's opcode and RD, RA; NXDOMAIN when there is no such name.
  const flags = 0x8080 | (query.readUInt16BE(2) & 0x7900) | (name === undefined ? RCODE_NXDOMAIN : 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  const records: Buffer[] = [];
  // A name the table knows asked for another type: no such record (NOERROR, no answer).
  if (name !== undefined && question.type === TYPE_PTR) {
    const rdata = encodeName(name);
    const record = Buffer.alloc(12);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(TYPE_PTR, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(300, 6);
    record.writeUInt16BE(rdata.length, 10);
    records.push(record, rdata);
  }
  header.writeUInt16BE(records.length ? 1 : 0, 6);
  return Buffer.concat([header, query.subarray(12, question.end), ...records]);
}

/** Starts the responder on 127.0.0.1. */
export async function startLabDns(options: LabDnsOptions = {}): Promise<LabDns> {
  const byPtr = new Map<string, string>();
  for (const [address, name] of Object.entries(options.names ?? {})) {
    const ptr = ptrName(address);
    if (ptr) byPtr.set(ptr, name);
  }
  const unanswered = new Set(Array.isArray(options.silent) ? options.silent.map(ptrName) : []);
  const questions: string[] = [];
  const socket: Socket = createSocket('udp4');
  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    const question = readQuestion(message);
    if (!question) return;
    questions.push(question.name);
    if (options.silent === true || unanswered.has(question.name)) return;
    socket.send(answer(message, question, byPtr.get(question.name)), from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    server: `127.0.0.1:${socket.address().port}`,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
