// Not a leaker: a connection pool that fills and then stays full. --delay ms after the ready
// line it opens --rate connections a second to its own listener until it holds --size, then keeps
// them (each connection is two fds here: the client end and the accepted end).
// Usage: pool-fill.mjs [--size=12] [--rate=6] [--delay=1500] [--lifetime=60]
import net from 'node:net';
import { arg, limitLifetime, ready } from './common.mjs';

limitLifetime();
const size = arg('size', 12);
const rate = arg('rate', 6);
const delay = arg('delay', 1500);

const held = [];
const server = net.createServer((s) => { held.push(s); s.on('error', () => s.destroy()); });
await new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
const port = server.address().port;
ready({ leaker: 'pool-fill', port, size, rate, delay });
setTimeout(() => {
  let opened = 0;
  const timer = setInterval(() => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.on('error', () => c.destroy());
    held.push(c);
    if (++opened >= size) clearInterval(timer);
  }, 1000 / rate);
}, delay);
