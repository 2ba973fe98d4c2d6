/**
 * Regenerates the rule fixtures: for each case, starts a leaker in a private network namespace,
 * captures its /proc tree (capture-proc-tree.ts) into fixtures/rules/<rule>/<case>/ and writes the
 * README saying how. Run through test/helpers/capture.vitest.config.ts (it is not a test).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';
import { captureProcTree } from './capture-proc-tree.js';
import { inNetns, netnsSupport, startScenario, stopAll } from './netns.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/rules/', import.meta.url));

interface Case {
  rule: string;
  name: string;
  leaker: string;
  args: string[];
  sysctls?: Record<string, string>;
  /** What the case shows, for its README. */
  about: string;
  /** The ready line's key naming the pid to capture (default: the leaker itself). */
  target?: string;
}

const CASES: Case[] = [
  {
    rule: 'orphan-sockets', name: 'fires-metrics-login', leaker: 'metrics-login.py',
    args: ['--port=47100', '--metrics-port=47101', '--logins=12', '--unconnected=3'],
    about: 'A login service (listening on 127.0.0.1:47100) whose metrics client creates a TCP socket per login; its connect() to 127.0.0.1:47101 is refused and the error path never closes the socket (12 sockets), plus 3 sockets never connected at all. None of the 15 has a row in any table of the namespace.',
  },
  {
    rule: 'orphan-sockets', name: 'quiet-busy-keepalive', leaker: 'healthy-busy.mjs',
    args: ['--port=47140', '--connections=4'],
    about: 'A busy, healthy process in its own network namespace: a TCP server and 4 keep-alive clients exchanging traffic, a bound UDP socket, files, Node\'s pipes and eventfds. Every socket fd has a row in the tables of its own namespace.',
  },
  {
    rule: 'close-wait', name: 'fires-server-never-closes', leaker: 'close-wait-server.mjs',
    args: ['--port=47110', '--peers=127.0.0.2:12,127.0.0.3:8'],
    about: 'A server on 127.0.0.1:47110 accepted 12 connections from 127.0.0.2 and 8 from 127.0.0.3; the clients hung up and the server never called close(): 20 owned CLOSE_WAIT sockets.',
  },
  {
    rule: 'close-wait', name: 'quiet-unaccepted-close-wait', leaker: 'backlog-listener.py',
    args: ['--port=47120', '--backlog=8', '--connect=7', '--close=3'],
    about: 'A listener that never accept()s: 3 of its queued connections are CLOSE_WAIT rows with inode 0 (no fd). They belong to the accept queue, not to a close() the process forgot.',
  },
  {
    rule: 'accept-backlog', name: 'fires-never-accepts', leaker: 'backlog-listener.py',
    args: ['--port=47120', '--backlog=8', '--connect=7', '--close=3'],
    about: 'A listener on 127.0.0.1:47120 with listen(8) that never calls accept(); 7 clients connected (the first sent "hello"), 3 of them hung up again: LISTEN rx_queue 7, 3 inode-0 CLOSE_WAIT and 4 inode-0 ESTABLISHED rows on port 47120.',
  },
  {
    rule: 'accept-backlog', name: 'quiet-accepting-server', leaker: 'close-wait-server.mjs',
    args: ['--port=47110', '--peers=127.0.0.2:12,127.0.0.3:8'],
    about: 'A server that accept()s every connection at once (its accept queue is empty), even though it leaks the accepted ones in CLOSE_WAIT.',
  },
  {
    rule: 'time-wait', name: 'quiet-finished-client', leaker: 'per-request-client.mjs',
    args: ['--port=3306', '--requests=150'],
    sysctls: { 'net/ipv4/ip_local_port_range': '40000 40999', 'net/ipv4/tcp_tw_reuse': '0' },
    about: 'A client that opens a new connection per query to a local "mysql" on 127.0.0.1:3306 (a forked server process) and closes it first: 150 TIME_WAIT rows towards 127.0.0.1:3306, 15% of the 1000-port ephemeral range 40000-40999 set in the namespace. It holds no connection to 127.0.0.1:3306 any more, so the rows may be anyone\'s in the namespace: an info finding with no pid, never its own.',
  },
  {
    rule: 'time-wait', name: 'quiet-few-requests', leaker: 'per-request-client.mjs',
    args: ['--port=3306', '--requests=60'],
    sysctls: { 'net/ipv4/ip_local_port_range': '40000 40999', 'net/ipv4/tcp_tw_reuse': '0' },
    about: 'The same client after only 60 queries: 60 TIME_WAIT rows towards 127.0.0.1:3306, below the rule\'s minimum of 100 per endpoint.',
  },
  {
    rule: 'time-wait', name: 'fires-query-in-flight', leaker: 'per-request-client.mjs',
    args: ['--port=3306', '--requests=150', '--hold=1'],
    sysctls: { 'net/ipv4/ip_local_port_range': '40000 40999', 'net/ipv4/tcp_tw_reuse': '0' },
    about: 'The per-query client with one query still in flight (an ESTABLISHED connection to 127.0.0.1:3306): its 150 TIME_WAIT rows towards 127.0.0.1:3306 are towards an endpoint it uses, 15% of the 1000-port range 40000-40999.',
  },
  {
    rule: 'fd-limit', name: 'fires-near-limit', leaker: 'near-limit.py',
    args: ['--limit=100', '--percent=90'],
    about: 'A process that lowered its soft RLIMIT_NOFILE to 100 and holds 90 fds (files and pipes).',
  },
  {
    rule: 'fd-limit', name: 'quiet-below-warn', leaker: 'near-limit.py',
    args: ['--limit=100', '--percent=70'],
    about: 'The same process holding 70 of 100 fds: below the 80% warning threshold.',
  },
  {
    rule: 'fin-wait2', name: 'fires-half-closed-client', leaker: 'half-close-client.mjs',
    args: ['--port=47150', '--connections=12'],
    about: 'A client that sent its request, called shutdown(SHUT_WR) and keeps the fd waiting for an EOF; the server (a forked process) never closes: 12 FIN_WAIT2 sockets held open by the client, which never time out.',
  },
  {
    rule: 'fin-wait2', name: 'quiet-orphaned-fin-wait2', leaker: 'close-wait-server.mjs',
    args: ['--port=47110', '--peers=127.0.0.2:12,127.0.0.3:8'],
    about: 'The close-wait server\'s namespace: its clients closed their sockets, leaving 20 orphaned FIN_WAIT2 minisocks (inode 0, they expire after tcp_fin_timeout); the process holds no FIN_WAIT2 socket itself.',
  },
  {
    rule: 'fin-wait2', name: 'fires-proxy-upstream', leaker: 'proxy-upstream.mjs',
    args: ['--port=8081', '--backend-port=9001', '--upstream=30', '--hold=1'],
    about: 'An nginx-like proxy that sent 30 requests to a backend that never reads nor closes, then closed those upstream connections (a timeout), with one more request in flight: 30 orphaned FIN_WAIT2 rows towards 127.0.0.1:9001 whose other halves are the backend\'s 30 CLOSE_WAIT sockets (the backend\'s /proc entry is not in the capture, its rows are in the tables).',
  },
  {
    rule: 'close-wait', name: 'fires-unread-backend', leaker: 'proxy-upstream.mjs', target: 'backendPid',
    args: ['--port=8081', '--backend-port=9001', '--upstream=30', '--hold=1'],
    about: 'The hung backend of fin-wait2/fires-proxy-upstream: 30 CLOSE_WAIT sockets, each with the unread request in its Recv-Q (the handler never read), opposite the proxy\'s 30 orphaned FIN_WAIT2 rows.',
  },
  {
    rule: 'deleted-files', name: 'fires-rotated-logs', leaker: 'kinds.py',
    args: ['--deleted=12', '--deleted-size=65536'],
    about: 'A process that wrote 12 files of 64 KiB (6 in <tmp>/logs, 6 in <tmp>/tmp), unlinked them and keeps them open, as a logger does after a rotation that never told it to reopen: 12 deleted files, 768 KiB still on disk. `<pid>/fdstat/<n>` holds st_size and st_blocks as stat(2) through /proc/<pid>/fd/<n> gave them.',
  },
  {
    rule: 'deleted-files', name: 'quiet-two-temp-files', leaker: 'kinds.py',
    args: ['--deleted=2', '--deleted-size=4096', '--files=5'],
    about: 'A process holding 2 unlinked 4 KiB temporary files (tmpfile() style) and 5 ordinary files: below the rule\'s minimum of 5 files and far below its byte threshold.',
  },
  {
    rule: 'repeated-opens', name: 'fires-log-reopened', leaker: 'kinds.py',
    args: ['--repeat=300', '--files=3', '--eventfd=2', '--epoll=1'],
    about: 'A process that opened its log file <tmp>/app.log 300 times and never closed it (a reopen per message), besides 3 ordinary files, 2 eventfds and an epoll instance.',
  },
  {
    rule: 'repeated-opens', name: 'quiet-few-opens', leaker: 'kinds.py',
    args: ['--repeat=20', '--files=5', '--eventfd=3', '--epoll=2'],
    about: 'The same process with its log file open 20 times, 5 ordinary files, 3 eventfds and 2 epoll instances: nothing near the thresholds (stdio on fds 0-2 is never counted).',
  },
  {
    rule: 'inotify-limit', name: 'fires-userns-limit', leaker: 'kinds.py',
    args: ['--userns-max-instances=30', '--inotify=25', '--watches=2'],
    about: 'A process in its own user namespace whose /proc/sys/user/max_inotify_instances it lowered to 30, holding 25 inotify instances with 2 watches each (83% of its user\'s instance limit). `sys/user/` holds the values read in that namespace, `<pid>/fdinfo/<n>` the fdinfo of each inotify instance.',
  },
  {
    rule: 'inotify-limit', name: 'quiet-few-watchers', leaker: 'kinds.py',
    args: ['--inotify=3', '--watches=4'],
    about: 'A process holding 3 inotify instances with 4 watches each, against the host\'s limits (fs.inotify.max_user_instances, max_user_watches).',
  },
];

afterAll(stopAll);

describe('capture rule fixtures', () => {
  for (const c of CASES) {
    it(`${c.rule}/${c.name}`, async () => {
      const ns = netnsSupport();
      if (!ns.ok) throw new Error(`fixtures are captured in a private network namespace: ${ns.reason}`);
      const s = await startScenario(c.leaker, c.args, c.sysctls === undefined ? {} : { sysctls: c.sysctls });
      try {
        const dir = join(FIXTURES, c.rule, c.name);
        rmSync(dir, { recursive: true, force: true });
        const summary = captureProcTree(c.target === undefined ? s.pid : Number(s.ready[c.target]), dir);
        const listeners = inNetns(s.pid, 'ss', ['-H', '-l', '-t', '-n', '-e']).trim();
        writeFileSync(join(dir, 'README.md'), readme(c, s.ready, summary, listeners));
      } finally {
        await s.stop();
        if (typeof s.ready.dir === 'string') rmSync(s.ready.dir, { recursive: true, force: true }); // kinds.py's files
      }
    });
  }
});

function readme(c: Case, ready: Record<string, unknown>, summary: ReturnType<typeof captureProcTree>, listeners: string): string {
  const distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  const ssVersion = execFileSync('ss', ['-V'], { encoding: 'utf8' }).trim();
  const sysctls = Object.entries(c.sysctls ?? {}).map(([k, v]) => `\`${k.replaceAll('/', '.')}=${v}\``).join(', ');
  return `# ${c.rule}/${c.name}

${c.about}

## How it was made

- Date: ${new Date().toISOString().slice(0, 10)}; host: Linux ${release()} ${process.arch}, ${distro}, Node ${process.version}, ${ssVersion}.
- Leaker: \`test/helpers/leakers/${c.leaker} ${c.args.join(' ')}\`${c.target === undefined ? '' : ` (captured: its ${c.target} process)`}, started by \`test/helpers/netns.ts\` in a private
  network namespace (\`unshare -n\`, \`ip link set lo up\`${sysctls === '' ? '' : `, ${sysctls}`}).
- Captured by \`npx vitest run --config test/helpers/capture.vitest.config.ts\` (test/helpers/capture-rule-fixtures.ts ->
  test/helpers/capture-proc-tree.ts) once the leaker printed its ready line:
  \`${JSON.stringify(ready)}\`
- This directory stands in for /proc: \`collectLiveProcess(${summary.pid}, { procRoot: <this dir> })\`.
  \`${summary.pid}/stat\`, \`cmdline\`, \`limits\` are copies; \`${summary.pid}/fd/*\` (${summary.fds} fds) are symlinks with the targets
  readlink gave; \`${summary.pid}/ns/net\` points to \`${summary.netns}\`; \`${summary.pid}/net/*\` are the tables of the
  process's own namespace, copied whole (rows: ${Object.entries(summary.tables).map(([t, n]) => `${t} ${n}`).join(', ')}): nothing was trimmed or edited,
  the private namespace held only this scenario. \`sys/net/*\` were read inside that namespace, \`sys/fs/*\` on the host.
- Not in a /proc tree: listen backlog limits (only \`ss -lnt\` knows them), so a captured listener's backlog is unknown.
  \`ss -Hltne\` in the namespace at capture time said:
${listeners === '' ? '  (no listener)' : listeners.split('\n').map((l) => `      ${l.trim()}`).join('\n')}
${c.name.startsWith('fires-')
    ? `- \`expected.json\` holds every finding of the rule here (golden; refresh with \`npx vitest run test/rules/${c.rule}.test.ts -u\` and review the diff).`
    : `- The rule must stay quiet here: test/rules/${c.rule}.test.ts.`}
`;
}
