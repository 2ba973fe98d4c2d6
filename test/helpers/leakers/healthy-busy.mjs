// Not a leaker: a busy but healthy process. A server and its clients exchange traffic all the time
// over a few keep-alive connections (no new connection per request, nothing left half-closed),
// a bound UDP socket, some open files; Node's own pipes, eventfds and epoll fds come for free.
// Port 0 means any free port (the ready line says which).
// Usage: healthy-busy.mjs [--port=47140] [--connections=4] [--lifetime=60]
import dgram from 'node:dgram';
import { openSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { arg, limitLifetime, ready, until } from './common.mjs';

limitLifetime();
let port = arg('port', 47140);
const connections = arg('connections', 4);

const server = net.createServer((s) => s.on('data', (d) => s.write(d)));
await new Promise((resolve) => server.listen({ port, host: '127.0.0.1' }, resolve));
port = server.address().port;
const udp = dgram.createSocket('udp4');
await new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
const files = [openSync(fileURLToPath(import.meta.url), 'r'), openSync('/dev/null', 'r'), openSync('/dev/zero', 'r')];

let roundTrips = 0;
for (let i = 0; i < connections; i++) {
  const c = net.connect({ port, host: '127.0.0.1' });
  c.setKeepAlive(true);
  c.on('data', () => { roundTrips++; setTimeout(() => c.write('ping\n'), 5); });
  c.write('ping\n');
}
await until(() => roundTrips >= connections * 3, 10_000, 'round trips');
ready({ leaker: 'healthy-busy', port, connections, files: files.length });
