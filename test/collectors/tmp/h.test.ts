import { it } from 'vitest';
import { parseLsof, parseLsofFields } from '../../../src/collectors/lsof.js';
import { parseNetstat } from '../../../src/collectors/netstat.js';
import { parseSs } from '../../../src/collectors/ss.js';
import { parseProcNetInet } from '../../../src/collectors/proc-net-inet.js';
import { parseProcNetUnix } from '../../../src/collectors/proc-net-unix.js';
import { LineSink } from '../../../src/util/skips.js';
import { hostileInputs, fixture } from '../fuzz.js';
it('time', () => {
  const parsers: Array<[string, (t: string, s: LineSink) => unknown, string]> = [
    ['lsof', (t, s) => parseLsof(t, 'x', s), 'lsof/tcp-udp-queues.txt'],
    ['lsofF', (t, s) => parseLsofFields(t, 'x', s), 'lsof-F/pcfnPtT-i.txt'],
    ['ss', (t, s) => parseSs(t, 'x', { sink: s }), 'ss/tanp.txt'],
    ['netstat', (t, s) => parseNetstat(t, 'x', s), 'netstat/tanpo.txt'],
    ['tcp', (t, s) => parseProcNetInet(t, 'x', 'tcp', null, 'LE', s), 'proc-net/tcp.txt'],
    ['unix', (t, s) => parseProcNetUnix(t, 'x', null, s), 'proc-net/unix.txt'],
  ];
  for (const [name, parse, fx] of parsers) {
    for (const [what, text] of hostileInputs(fixture(fx))) {
      let t = performance.now();
      try { parse(text, new LineSink(true)); } catch {}
      const strict = performance.now() - t;
      t = performance.now();
      parse(text, new LineSink(false));
      const lenient = performance.now() - t;
      if (strict + lenient > 150) console.log(name, what, Math.round(strict), Math.round(lenient));
    }
  }
});
