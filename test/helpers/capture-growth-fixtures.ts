/**
 * Regenerates fixtures/rules/fd-growth/*: for each case, starts a leaker in a private network
 * namespace and captures its /proc tree twice, `first/` and `second/` some seconds apart
 * (capture-proc-tree.ts), with the moments of both captures in times.json, and writes the README.
 * Not a test: run it with
 *   npx vitest run --config test/helpers/capture.vitest.config.ts test/helpers/capture-growth-fixtures.ts
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';
import { captureProcTree } from './capture-proc-tree.js';
import { netnsSupport, startScenario, stopAll } from './netns.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/rules/fd-growth/', import.meta.url));

const CASES = [
  {
    name: 'fires-steady-leak', leaker: 'steady-leak.py', args: ['--rate=5', '--log=/tmp/fdleak-steady-leak.log'], gapMs: 3000,
    about: 'A worker leaking 5 fds a second, in turn the read end of a pipe, a UDP socket bound to 127.0.0.1:0 and its log file reopened for append: two captures 3 s apart.',
  },
  {
    name: 'quiet-keepalive-churn', leaker: 'keepalive-churn.mjs', args: ['--connections=6', '--retire=2000'], gapMs: 3000,
    about: 'A busy, healthy process: 6 keep-alive connections to its own listener, each retired (closed at both ends) and replaced every 2 s: two captures 3 s apart.',
  },
];

afterAll(stopAll);

describe('capture fd-growth fixtures', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ns = netnsSupport();
      if (!ns.ok) throw new Error(`fixtures are captured in a private network namespace: ${ns.reason}`);
      const s = await startScenario(c.leaker, c.args);
      try {
        const dir = join(FIXTURES, c.name);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const first = new Date().toISOString();
        const a = captureProcTree(s.pid, join(dir, 'first'));
        await new Promise((r) => setTimeout(r, c.gapMs));
        const second = new Date().toISOString();
        const b = captureProcTree(s.pid, join(dir, 'second'));
        writeFileSync(join(dir, 'times.json'), `${JSON.stringify({ pid: s.pid, first, second }, null, 2)}\n`);
        const distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
        writeFileSync(join(dir, 'README.md'), `# fd-growth/${c.name}

${c.about}

## How it was made

- Date: ${first.slice(0, 10)}; host: Linux ${release()} ${process.arch}, ${distro}, Node ${process.version}.
- Leaker: \`test/helpers/leakers/${c.leaker} ${c.args.join(' ')}\`, started by \`test/helpers/netns.ts\` in a private
  network namespace (\`unshare -n\`, \`ip link set lo up\`); ready line: \`${JSON.stringify(s.ready)}\`
- Captured by test/helpers/capture-growth-fixtures.ts (capture-proc-tree.ts): \`first/\` at ${first} (${a.fds} fds),
  \`second/\` at ${second} (${b.fds} fds); times.json holds both moments. Each stands in for /proc:
  \`collectLiveProcess(${s.pid}, { procRoot: <dir>/first, now: () => new Date(first) })\`. Nothing was trimmed or edited.
${c.name.startsWith('fires-') ? '- `expected.json`: the findings of the rule (golden; refresh with `npx vitest run test/rules/fd-growth.test.ts -u`).' : '- The rule must stay quiet here: test/rules/fd-growth.test.ts.'}
`);
      } finally {
        await s.stop();
      }
    });
  }
});
