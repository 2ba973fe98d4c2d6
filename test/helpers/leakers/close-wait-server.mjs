// Leaker: a server accepts connections and never closes them after the client hangs up, so every
// accepted socket sits in CLOSE_WAIT (owned, with an fd) forever. allowHalfOpen keeps Node from
// ending the socket itself when the FIN arrives, as a server that forgets close() would.
// Its clients (in this process, closed at once, so they leave only orphaned FIN_WAIT2 minisocks)
// come from several loopback addresses so the finding can be grouped by peer.
// Port 0 means any free port (the ready line says which).
// Usage: close-wait-server.mjs [--port=47110] [--peers=127.0.0.2:12,127.0.0.3:8] [--lifetime=60]
import net from 'node:net';
import { arg, limitLifetime, ready, until } from './common.mjs';

limitLifetime();
let port = arg('port', 47110);
const peers = arg('peers', '127.0.0.2:12,127.0.0.3:8').split(',').map((p) => {
  const [address, n] = p.split(':');
  return { address, count: Number(n) };
});
const total = peers.reduce((n, p) => n + p.count, 0);

const held = [];
let ended = 0;
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  held.push(socket);
  socket.resume();
  socket.on('end', () => { ended++; }); // the bug: no socket.end()/destroy() here
});
await new Promise((resolve) => server.listen({ port, host: '127.0.0.1', backlog: 64 }, resolve));
port = server.address().port;

const clients = [];
for (const { address, count } of peers) {
  for (let i = 0; i < count; i++) {
    clients.push(await new Promise((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1', localAddress: address }, () => resolve(c));
      c.on('error', reject);
    }));
  }
}
await until(() => held.length === total, 10_000, 'accepts');
for (const c of clients) c.destroy(); // the clients hang up
await until(() => ended === total, 10_000, 'client FINs');

ready({
  leaker: 'close-wait-server', port, peers: Object.fromEntries(peers.map((p) => [p.address, p.count])),
  closeWait: held.length, listenFd: server._handle.fd, closeWaitFds: held.map((s) => s._handle.fd),
});
