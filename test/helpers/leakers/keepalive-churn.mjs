// Not a leaker: a busy, healthy process whose keep-alive connections are retired and replaced
// every --retire ms (each one closed at both ends, a new one opened), staggered so that some
// connection is being replaced most of the time. The fd count wobbles by a few, and does not grow.
// Usage: keepalive-churn.mjs [--connections=6] [--retire=2000] [--lifetime=60]
import net from 'node:net';
import { arg, limitLifetime, ready, until } from './common.mjs';

limitLifetime();
const connections = arg('connections', 6);
const retire = arg('retire', 2000);

const server = net.createServer((s) => {
  s.on('data', (d) => s.write(d));
  s.on('end', () => s.end());
  s.on('error', () => s.destroy());
});
await new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
const port = server.address().port;
let replaced = 0;
let open = 0;

function connect(lifetime) {
  const c = net.connect({ port, host: '127.0.0.1' });
  c.setKeepAlive(true);
  c.on('connect', () => { open++; });
  c.on('data', () => setTimeout(() => { if (!c.destroyed) c.write('ping\n'); }, 20));
  c.on('error', () => c.destroy());
  c.on('close', () => { open--; });
  c.write('ping\n');
  setTimeout(() => { c.end(); replaced++; connect(retire); }, lifetime);
}
for (let i = 0; i < connections; i++) connect(Math.round(((i + 1) * retire) / connections));
await until(() => open >= connections, 10_000, 'connections');
ready({ leaker: 'keepalive-churn', port, connections, retire, replacedSoFar: replaced });
