// Leaker: a client opens a new connection per request to a local "database" on --port (3306, the
// mysql port, by default) and closes it after the reply, client side first, so every request
// leaves one TIME_WAIT socket (inode 0, 60 s) towards 127.0.0.1:<port>. The server is a separate
// process (forked, same network namespace, same process group).
// Port 0 means any free port (the ready line says which).
// --hold=N keeps N more queries' connections open (a client with queries in flight when diagnosed).
// Usage: per-request-client.mjs [--port=3306] [--requests=150] [--parallel=8] [--hold=0] [--lifetime=60]
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { arg, limitLifetime, ready, tcpRows, until } from './common.mjs';

limitLifetime();
let port = arg('port', 3306);

if (process.argv.includes('--serve')) {
  // The server: answers each request line and closes only after the client did (allowHalfOpen
  // is false, so Node ends our side when the client's FIN arrives: LAST_ACK, not TIME_WAIT).
  const server = net.createServer((s) => s.on('data', () => s.write('ok\n')));
  server.listen({ port, host: '127.0.0.1', backlog: 511 }, () => process.send?.(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else {
  const requests = arg('requests', 150);
  const parallel = arg('parallel', 8);
  const server = fork(fileURLToPath(import.meta.url), ['--serve', `--port=${port}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  port = await new Promise((resolve, reject) => { server.once('message', resolve); server.once('exit', reject); });

  const query = () => new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' }, () => c.write('SELECT 1\n'));
    c.once('data', () => c.destroy()); // client closes first
    c.once('close', resolve);
    c.once('error', reject);
  });
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < requests) { next++; await query(); }
  }));
  const held = [];
  for (let i = 0; i < arg('hold', 0); i++) {
    held.push(await new Promise((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1' }, () => c.write('SELECT 1\n'));
      c.once('data', () => resolve(c));
      c.once('error', reject);
    }));
  }
  const timeWait = () => tcpRows().filter((r) => r.st === '06' && r.remotePort === port).length;
  await until(() => timeWait() >= requests, 5000, 'TIME_WAIT rows').catch(() => {});
  ready({ leaker: 'per-request-client', port, serverPid: server.pid, requests, timeWait: timeWait() });
}
