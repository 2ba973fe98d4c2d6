// Leaker: an nginx-like proxy between clients and a backend that hangs, three processes in one
// network namespace (same process group):
// - the backend (forked) listens on --backend-port and never reads nor closes what it accepts
//   (pauseOnConnect: a deadlocked handler): the proxy's requests stay unread in its Recv-Q and,
//   once the proxy gives up and closes, its sockets sit in CLOSE_WAIT;
// - the proxy (this process, the leader) listens on --port; it sends --upstream requests to the
//   backend and closes those connections (an upstream timeout): orphaned FIN_WAIT2 towards
//   the backend; --hold keeps that many more upstream requests in flight (ESTABLISHED);
// - the clients (forked) open --clients keep-alive connections to the proxy and never close them
//   (allowHalfOpen: like python `requests` sessions never closed); the proxy drops each idle
//   connection: orphaned FIN_WAIT2 on the proxy's listener, CLOSE_WAIT in the client.
// Port 0 means any free port (the ready line says which).
// Usage: proxy-upstream.mjs [--port=8081] [--backend-port=9001] [--upstream=30] [--hold=1] [--clients=0] [--lifetime=60]
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { arg, limitLifetime, ready, tcpRows, until } from './common.mjs';

limitLifetime();
const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7) ?? 'proxy';

if (role === 'backend') {
  const held = [];
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => held.push(s));
  server.listen({ port: arg('backend-port', 9001), host: '127.0.0.1', backlog: 511 }, () => process.send?.(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else if (role === 'clients') {
  const port = arg('port', 8081);
  const held = [];
  for (let i = 0; i < arg('clients', 0); i++) {
    held.push(await new Promise((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(c));
      c.on('error', reject);
      c.resume();
    }));
  }
  process.send?.(held.length);
  process.on('disconnect', () => process.exit(0));
} else {
  const start = (r, args) => {
    const child = fork(fileURLToPath(import.meta.url), [`--role=${r}`, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => { child.once('message', (m) => resolve([child, m])); child.once('exit', reject); });
  };
  const [backend, backendPort] = await start('backend', [`--backend-port=${arg('backend-port', 9001)}`]);
  const clients = arg('clients', 0);
  const accepted = [];
  const proxy = net.createServer((s) => { accepted.push(s); s.resume(); });
  await new Promise((resolve) => proxy.listen({ port: arg('port', 8081), host: '127.0.0.1', backlog: 511 }, resolve));
  const port = proxy.address().port;

  const request = `GET /slow HTTP/1.1\r\nHost: backend\r\nConnection: keep-alive\r\n\r\n`;
  const upstream = () => new Promise((resolve, reject) => {
    const c = net.connect({ port: backendPort, host: '127.0.0.1' }, () => c.write(request, () => resolve(c)));
    c.on('error', reject);
  });
  const timedOut = [];
  for (let i = 0; i < arg('upstream', 30); i++) timedOut.push(await upstream());
  const inFlight = [];
  for (let i = 0; i < arg('hold', 1); i++) inFlight.push(await upstream());
  for (const c of timedOut) c.destroy(); // upstream timeout: the proxy closes, the backend never does

  let clientsPid = null;
  if (clients > 0) {
    const [child] = await start('clients', [`--port=${port}`, `--clients=${clients}`]);
    clientsPid = child.pid;
    await until(() => accepted.length >= clients, 10_000, 'accepted clients');
    for (const s of accepted) s.destroy(); // idle keep-alive dropped by the proxy
  }
  const rows = () => tcpRows();
  const finWait2 = (p) => rows().filter((r) => r.st === '05' && r.inode === '0' && (r.remotePort === p || r.localPort === p)).length;
  await until(() => finWait2(backendPort) >= timedOut.length && finWait2(port) >= clients, 5000, 'FIN_WAIT2 rows').catch(() => {});
  ready({
    leaker: 'proxy-upstream', port, backendPort, backendPid: backend.pid, clientsPid,
    upstreamClosed: timedOut.length, inFlight: inFlight.length, clients,
    request: Buffer.byteLength(request),
  });
}
