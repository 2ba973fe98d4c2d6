// Leaker: a client sends its request, calls shutdown(SHUT_WR) (socket.end()) and keeps the fd
// waiting for an EOF that never comes: the server (a separate, forked process) never closes its
// side. The client's sockets sit in FIN_WAIT2 with an fd, which never times out (only orphaned
// FIN_WAIT2 obeys tcp_fin_timeout); the server's sit in CLOSE_WAIT.
// Port 0 means any free port (the ready line says which).
// Usage: half-close-client.mjs [--port=47150] [--connections=12] [--lifetime=60]
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { arg, limitLifetime, ready, tcpRows, until } from './common.mjs';

limitLifetime();
let port = arg('port', 47150);

if (process.argv.includes('--serve')) {
  const held = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => { held.push(s); s.resume(); });
  server.listen({ port, host: '127.0.0.1' }, () => process.send?.(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else {
  const connections = arg('connections', 12);
  const server = fork(fileURLToPath(import.meta.url), ['--serve', `--port=${port}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  port = await new Promise((resolve, reject) => { server.once('message', resolve); server.once('exit', reject); });
  const held = [];
  for (let i = 0; i < connections; i++) {
    held.push(await new Promise((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => { c.end('QUIT\n'); resolve(c); });
      c.on('error', reject);
      c.resume();
    }));
  }
  const mine = new Set(held.map((c) => c._handle.fd));
  await until(() => tcpRows().filter((r) => r.st === '05' && r.inode !== '0' && r.remotePort === port).length === connections, 10_000, 'FIN_WAIT2');
  ready({ leaker: 'half-close-client', port, serverPid: server.pid, finWait2: connections, finWait2Fds: [...mine] });
}
