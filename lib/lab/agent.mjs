// Runs inside a lab namespace (`ip netns exec NS node agent.mjs`) and keeps sockets and pings alive there.
// Reads one JSON command a line on stdin, answers one JSON line on stdout (types in protocol.ts).
// Exits when stdin closes, so it never outlives the process that started it.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

// Same values as in protocol.ts (this file runs as plain JavaScript and cannot import it).
const AGENT_READY = 'ctc-agent-ready';
const SERVER_CLOSE_REQUEST = 'close-please';
const REPLY_TIMEOUT_MS = 3000;

/** Open flows by handle: each has a close() that ends it. */
const handles = new Map();
const servers = new Set();
const serverConnections = new Set();
/** Ftp sessions started without their data connection, by handle: how to open it. */
const ftpSessions = new Map();
let nextHandle = 1;

function keep(close) {
  const handle = nextHandle++;
  handles.set(handle, close);
  return handle;
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function once(emitter, event) {
  return new Promise((resolve, reject) => {
    const onError = (error) => {
      emitter.off(event, onEvent);
      reject(error);
    };
    const onEvent = (value) => {
      emitter.off('error', onError);
      resolve(value);
    };
    emitter.once(event, onEvent);
    emitter.once('error', onError);
  });
}

function listenTcp({ address, port }) {
  const server = net.createServer((socket) => {
    serverConnections.add(socket);
    socket.on('close', () => serverConnections.delete(socket));
    // Resets are part of the traffic mix.
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        // Server-first close: our FIN goes out first; Node ends our side again only after the client's FIN.
        if (line === SERVER_CLOSE_REQUEST) socket.end();
        else socket.write(`${line}\n`);
      }
    });
  });
  servers.add(server);
  server.listen({ host: address, port });
  return once(server, 'listening').then(() => ({}));
}

function listenUdp({ address, port }) {
  const socket = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4' });
  servers.add(socket);
  socket.on('message', (message, remote) => socket.send(message, remote.port, remote.address));
  socket.bind({ address, port });
  return once(socket, 'listening').then(() => ({}));
}

// An FTP-like control server: "220" on connect, and for each PASV (IPv4) or EPSV (IPv6) a data listener on a fresh
// port announced in the passive-mode reply, which is what makes a router's ftp helper expect the data connection.
function listenFtp({ address, port }) {
  const server = net.createServer((socket) => {
    serverConnections.add(socket);
    socket.on('close', () => serverConnections.delete(socket));
    socket.on('error', () => {});
    socket.write('220 ctc lab ftp\r\n');
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim().toUpperCase();
        buffered = buffered.slice(newline + 1);
        if (line === 'PASV' || line === 'EPSV') {
          const data = net.createServer((conn) => {
            serverConnections.add(conn);
            conn.on('close', () => serverConnections.delete(conn));
            conn.on('error', () => {});
          });
          servers.add(data);
          socket.once('close', () => data.close());
          data.listen({ host: address, port: 0 }, () => {
            const p = data.address().port;
            if (socket.destroyed) return;
            if (line === 'EPSV') socket.write(`229 Entering Extended Passive Mode (|||${p}|)\r\n`);
            else socket.write(`227 Entering Passive Mode (${address.split('.').join(',')},${p >> 8},${p & 0xff}).\r\n`);
          });
        } else socket.write('502 not implemented\r\n');
      }
    });
  });
  servers.add(server);
  server.listen({ host: address, port });
  return once(server, 'listening').then(() => ({}));
}

/** The data port of a 227 / 229 reply. */
function passivePort(reply) {
  const pasv = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply);
  if (pasv) return Number(pasv[5]) * 256 + Number(pasv[6]);
  const epsv = /\(\|\|\|(\d+)\|\)/.exec(reply);
  if (epsv) return Number(epsv[1]);
  throw new Error(`not a passive-mode reply: ${reply.trim()}`);
}

/**
 * An FTP-like control connection: asks for passive mode (PASV, or EPSV over IPv6) and, with `data`, opens the data
 * connection the reply announced. `refreshMs` asks again that often, so the router always holds an expectation.
 */
async function ftp({ local, remote, port, data, refreshMs }) {
  const socket = net.connect({ host: remote, port, localAddress: local });
  socket.setNoDelay(true);
  await withTimeout(once(socket, 'connect'), 'ftp connect');
  socket.on('error', () => socket.destroy());
  await readLine(socket);
  const verb = net.isIPv6(remote) ? 'EPSV' : 'PASV';
  socket.write(`${verb}\r\n`);
  const dataPort = passivePort(await readLine(socket));
  const result = { localAddress: local, localPort: socket.localPort, dataPort };
  let dataSocket;
  const openData = async () => {
    dataSocket = net.connect({ host: remote, port: dataPort, localAddress: local });
    dataSocket.on('error', () => dataSocket.destroy());
    await withTimeout(once(dataSocket, 'connect'), 'ftp data connect');
    return { localAddress: local, dataPort, dataLocalPort: dataSocket.localPort };
  };
  if (data) result.dataLocalPort = (await openData()).dataLocalPort;
  socket.on('data', () => {});
  const timer = refreshMs ? setInterval(() => socket.write(`${verb}\r\n`), refreshMs) : undefined;
  socket.once('close', () => clearInterval(timer));
  const handle = keep(() => {
    clearInterval(timer);
    ftpSessions.delete(handle);
    dataSocket?.destroy();
    socket.destroy();
  });
  if (!data) ftpSessions.set(handle, openData);
  return { ...result, handle };
}

/** The data connection of a session started without one: its own step, so a test can look at the table between. */
async function ftpData({ handle }) {
  const openData = ftpSessions.get(handle);
  if (!openData) throw new Error(`no ftp session ${handle} waiting for its data connection`);
  ftpSessions.delete(handle);
  return openData();
}

function readLine(socket) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let buffered = '';
      const onData = (chunk) => {
        buffered += chunk.toString('utf8');
        if (buffered.includes('\n')) {
          socket.off('data', onData);
          socket.off('error', reject);
          resolve(buffered);
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
    }),
    'echo',
  );
}

async function tcp({ local, remote, port, behaviour, chatIntervalMs }) {
  const socket = net.connect({ host: remote, port, localAddress: local });
  socket.setNoDelay(true);
  if (behaviour === 'half-open') {
    socket.on('error', () => {});
    // The SYN is sent on the next tick; the kernel has chosen our port once it is out.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const localPort = socket.localPort;
    return { localAddress: local, localPort, handle: keep(() => socket.destroy()) };
  }
  await withTimeout(once(socket, 'connect'), 'connect');
  const result = { localAddress: local, localPort: socket.localPort };
  const closed = new Promise((resolve) => socket.once('close', resolve));
  switch (behaviour) {
    case 'idle':
      socket.on('error', () => socket.destroy());
      return { ...result, handle: keep(() => socket.destroy()) };
    case 'chatty': {
      socket.write('hello\n');
      await readLine(socket);
      socket.on('data', () => {});
      socket.on('error', () => socket.destroy());
      const timer = chatIntervalMs ? setInterval(() => socket.write('tick\n'), chatIntervalMs) : undefined;
      socket.once('close', () => clearInterval(timer));
      return { ...result, handle: keep(() => socket.destroy()) };
    }
    case 'client-close':
      socket.write('hello\n');
      await readLine(socket);
      socket.end();
      await withTimeout(closed, 'close');
      return result;
    case 'server-close':
      socket.write(`${SERVER_CLOSE_REQUEST}\n`);
      // allowHalfOpen is false: Node ends our side once the server's FIN arrived.
      await withTimeout(closed, 'close');
      return result;
    case 'reset':
      socket.write('hello\n');
      await readLine(socket);
      socket.resetAndDestroy();
      await withTimeout(closed, 'close');
      return result;
    default:
      socket.destroy();
      throw new Error(`unknown TCP behaviour ${behaviour}`);
  }
}

async function udp({ local, remote, port, expectReply }) {
  const socket = dgram.createSocket({ type: net.isIPv6(remote) ? 'udp6' : 'udp4' });
  try {
    socket.bind({ address: local, port: 0 });
    await once(socket, 'listening');
    const result = { localAddress: local, localPort: socket.address().port };
    const reply = expectReply ? withTimeout(once(socket, 'message'), 'udp reply') : undefined;
    await new Promise((resolve, reject) => socket.send('hello\n', port, remote, (error) => (error ? reject(error) : resolve())));
    if (reply) await reply;
    return result;
  } finally {
    socket.close();
  }
}

async function ping({ family, local, remote, identifier, count, intervalSeconds }) {
  const args = [family === 'ipv6' ? '-6' : '-4', '-q', '-I', local, '-e', String(identifier), '-i', String(intervalSeconds), '-W', '1'];
  if (count !== undefined) args.push('-c', String(count));
  const child = spawn('ping', [...args, remote], { stdio: 'ignore' });
  if (count === undefined) {
    await once(child, 'spawn');
    return { localAddress: local, handle: keep(() => child.kill()) };
  }
  const code = await once(child, 'exit');
  if (code !== 0) throw new Error(`ping ${remote} exited with ${code}`);
  return { localAddress: local };
}

async function handle(command) {
  switch (command.op) {
    case 'listen-tcp':
      return listenTcp(command);
    case 'listen-udp':
      return listenUdp(command);
    case 'listen-ftp':
      return listenFtp(command);
    case 'ftp':
      return ftp(command);
    case 'ftp-data':
      return ftpData(command);
    case 'tcp':
      return tcp(command);
    case 'udp':
      return udp(command);
    case 'ping':
      return ping(command);
    case 'close': {
      const close = handles.get(command.handle);
      handles.delete(command.handle);
      close?.();
      return {};
    }
    case 'stats':
      return { openHandles: handles.size, serverConnections: serverConnections.size };
    default:
      throw new Error(`unknown command ${command.op}`);
  }
}

function answer(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    return;
  }
  handle(command).then(
    (result) => answer({ id: command.id, ok: true, result }),
    (error) => answer({ id: command.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
input.on('close', () => {
  for (const close of handles.values()) close();
  process.exit(0);
});
process.stdout.write(`${AGENT_READY}\n`);
