/**
 * Acceptance of `fdleak diagnose <pid>` against real leaky processes (test/helpers/leakers), each
 * in its own network namespace when root may create one (else the host's, said once on stderr).
 * Expected numbers are never typed in: they are read from /proc/<pid>/fd, /proc/<pid>/net/tcp and
 * `ss` run in the process's namespace at the same moment (the leakers are static once ready).
 * Every scenario is diagnosed twice: by the CLI (`node bin/fdleak.js diagnose <pid> --json`, env
 * reduced to PATH and NO_COLOR=1) and in-process (collectLiveProcess + runRules); both must agree.
 */
import { readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import acceptBacklog from '../../src/rules/accept-backlog.js';
import closeWait from '../../src/rules/close-wait.js';
import fdLimit from '../../src/rules/fd-limit.js';
import orphanSockets from '../../src/rules/orphan-sockets.js';
import timeWait from '../../src/rules/time-wait.js';
import { runRules } from '../../src/rules/engine.js';
import { runFdleak } from '../helpers/cli.js';
import { netnsSupport, startScenario, stopAll, type Scenario } from '../helpers/netns.js';
import {
  expandFdList, fdTargets, fdUsage, netnsSysctl, rankedCounts, socketFds, ssTcp, tableInodes, tableInodesIn, tcpRows,
} from '../helpers/proc.js';

interface JsonFinding {
  rule: string;
  severity: 'critical' | 'warning' | 'info';
  score: number;
  pid: number | null;
  count: number;
  message: string;
  evidence: Array<Record<string, unknown>>;
}
interface DiagnoseDoc {
  schema: string;
  process: { pid: number; command: string; netns: string; fdLimit: { soft: number; hard: number } };
  fds: { total: number; byKind: Record<string, number> };
  sockets: { total: number; orphans: number; byState: Record<string, number> };
  findings: JsonFinding[];
  warnings: string[];
}

const serious = (f: JsonFinding): boolean => f.severity === 'warning' || f.severity === 'critical';

/** Rules whose findings count rows of the whole namespace: host traffic moves them between two reads. */
const NAMESPACE_WIDE = new Set(['time-wait', 'fin-wait2']);

/**
 * CLI and in-process diagnosis of one pid; asserts they agree and the CLI exit code matches.
 * `isolated`: the pid has a namespace of its own (else namespace-wide counts may move in between).
 */
async function diagnose(pid: number, isolated: boolean): Promise<{ code: number | null; doc: DiagnoseDoc; of: (rule: string) => JsonFinding[] }> {
  const r = await runFdleak(['diagnose', String(pid), '--json']);
  expect(r.stderr).toBe('');
  const doc = JSON.parse(r.stdout) as DiagnoseDoc;
  expect(doc.schema).toBe('fdleak/diagnose@1');
  expect(doc.process.pid).toBe(pid);
  expect(r.code).toBe(doc.findings.some(serious) ? 1 : 0); // default --fail-on warning
  const inProcess = runRules(await collectLiveProcess(pid)).findings;
  const brief = (list: Array<{ rule: string; pid: number | null; count: number; severity: string }>): unknown[] =>
    list.filter((f) => isolated || !NAMESPACE_WIDE.has(f.rule)).map((f) => [f.rule, f.pid, f.count, f.severity]);
  expect(brief(inProcess)).toEqual(brief(doc.findings));
  return { code: r.code, doc, of: (rule) => doc.findings.filter((f) => f.rule === rule && f.pid === pid) };
}

function numberList(value: unknown): number[] {
  return (value as number[]).map(Number);
}

const ns = netnsSupport();
if (!ns.ok) console.warn(`live diagnose tests: host network namespace fallback (${ns.reason}); the namespace test is skipped`);

/**
 * A fixed port in a private namespace (readable fixtures, 3306 for mysql); in the shared host
 * namespace any fixed port may be taken (even as someone's ephemeral port): 0, the kernel picks.
 */
const portArg = (fixed: number): string => `--port=${ns.ok ? fixed : 0}`;

afterAll(stopAll);

describe('fdleak diagnose <pid> on live processes', () => {
  it('orphan-sockets: exactly the metrics-client sockets that never got a table row', async () => {
    const s = await start('metrics-login.py', [portArg(47100), `--metrics-port=${ns.ok ? 47101 : 0}`, '--logins=12', '--unconnected=3']);
    const { code, doc, of } = await diagnose(s.pid, s.isolated);

    const sockets = socketFds(s.pid);
    const known = tableInodes(s.pid);
    const orphans = [...sockets].filter(([inode]) => !known.has(inode));
    const orphanFds = orphans.map(([, fd]) => fd).sort((a, b) => a - b);
    expect(orphanFds).toEqual(numberList(s.ready.leakedFds)); // the leaker's own account of what it leaked
    // ss (inet_diag) agrees: of this pid's sockets it knows only the listener, none of the leaked ones.
    const ss = ssTcp(s.pid);
    expect(ss.filter((r) => r.pids.includes(s.pid)).map((r) => r.state)).toEqual(['LISTEN']);
    expect(ss.filter((r) => orphans.some(([inode]) => inode === r.inode))).toEqual([]);

    const f = of('orphan-sockets');
    const { min, critical } = orphanSockets.defaults;
    expect(orphanFds.length).toBeGreaterThanOrEqual(min);
    expect(f.map((x) => [x.count, x.severity])).toEqual([[orphanFds.length, orphanFds.length >= critical ? 'critical' : 'warning']]);
    expect(f[0]!.evidence.reduce((n, e) => n + Number(e.count), 0)).toBe(orphanFds.length);
    expect(f[0]!.evidence.flatMap((e) => expandFdList(String(e.fds))).sort((a, b) => a - b)).toEqual(orphanFds);
    expect(doc.sockets).toMatchObject({ total: sockets.size, orphans: orphanFds.length });
    expect(code).toBe(1);
  });

  it('close-wait: accepted connections the server never closed, grouped by peer', async () => {
    const s = await start('close-wait-server.mjs', [portArg(47110), '--peers=127.0.0.2:12,127.0.0.3:8']);
    const port = Number(s.ready.port);
    const { code, doc, of } = await diagnose(s.pid, s.isolated);

    const mine = socketFds(s.pid);
    const stuck = tcpRows(s.pid).filter((r) => r.state === 'CLOSE_WAIT' && mine.has(r.inode));
    const ss = ssTcp(s.pid).filter((r) => r.state === 'CLOSE-WAIT' && r.pids.includes(s.pid));
    expect(stuck.length).toBe(Number(s.ready.closeWait));
    expect(ss.length).toBe(stuck.length);
    const groups = rankedCounts(stuck, (r) => r.remote);
    expect(rankedCounts(ss, (r) => r.peer.slice(0, r.peer.lastIndexOf(':')))).toEqual(groups);

    const f = of('close-wait');
    expect(f.map((x) => [x.count, x.severity])).toEqual([[stuck.length, stuck.length >= closeWait.defaults.critical ? 'critical' : 'warning']]);
    // The clients' FIN_WAIT2 rows opposite these CLOSE_WAIT ones (same namespace): the other half (issue 10.4).
    const rows = tcpRows(s.pid);
    const halves = (peer: string): number => stuck.filter((c) => c.remote === peer && rows.some((r) => r.state === 'FIN_WAIT2'
      && r.local === c.remote && r.localPort === c.remotePort && r.remote === c.local && r.remotePort === c.localPort)).length;
    expect(f[0]!.evidence).toEqual(groups.map(([peer, count]) => ({
      peer, listener: `:${port}`, service: null, count, ...(halves(peer) > 0 ? { finWait2Peers: halves(peer) } : {}),
    })));
    expect(doc.sockets.byState.CLOSE_WAIT).toBe(stuck.length);
    expect(of('orphan-sockets')).toEqual([]);
    expect(code).toBe(1);
  });

  it('accept-backlog: queued count, inode-0 CLOSE_WAIT rows on its port, the backlog limit', async () => {
    const s = await start('backlog-listener.py', [portArg(47120), '--backlog=8', '--connect=7', '--close=3']);
    const { code, of } = await diagnose(s.pid, s.isolated);

    const listenerInode = [...socketFds(s.pid)].find(([, fd]) => fd === Number(s.ready.listenFd))![0];
    const rows = tcpRows(s.pid);
    const listen = rows.find((r) => r.state === 'LISTEN' && r.inode === listenerInode)!;
    const children = rows.filter((r) => r.inode === '0' && r.local === listen.local && r.localPort === listen.localPort);
    const closeWaitRows = children.filter((r) => r.state === 'CLOSE_WAIT').length;
    const establishedRows = children.filter((r) => r.state === 'ESTABLISHED').length;
    const ssListen = ssTcp(s.pid, '-l').find((r) => r.inode === listenerInode)!;
    expect(ssListen.recvQ).toBe(listen.rxQueue);
    const backlog = ssListen.sendQ; // LISTEN Send-Q: the accept queue limit, min(backlog, somaxconn)
    const endpoint = `127.0.0.1:${listen.localPort}`;
    const ssOrphanCw = ssTcp(s.pid).filter((r) => r.state === 'CLOSE-WAIT' && r.local === endpoint && r.pids.length === 0 && r.inode === '0');
    expect(ssOrphanCw.length).toBe(closeWaitRows);
    expect([listen.rxQueue, closeWaitRows]).toEqual([s.ready.queued, s.ready.closedByClient]);

    const queued = listen.rxQueue;
    const full = queued > backlog || queued * 100 >= backlog * acceptBacklog.defaults.criticalPercent;
    const f = of('accept-backlog');
    expect(f.map((x) => [x.count, x.severity])).toEqual([[queued, full ? 'critical' : 'warning']]);
    expect(f[0]!.evidence).toEqual([expect.objectContaining({
      listener: endpoint, queued, backlog, closeWaitUnaccepted: closeWaitRows, establishedUnaccepted: establishedRows,
    })]);
    // The CLOSE_WAIT rows have no fd: they are the listener's, not close-wait leaks of the process.
    expect(of('close-wait')).toEqual([]);
    expect(code).toBe(1);
  });

  it('time-wait: a connection per request, grouped by 127.0.0.1:3306 (mysql) against the ephemeral range', async () => {
    // In a private namespace the range shrinks to 1000 ports, so 150 requests pass the 10% warning.
    // --hold=1: one query in flight, so the rows are provably towards an endpoint it uses (issue 10.3).
    const s = await start('per-request-client.mjs', [portArg(3306), '--requests=150', '--hold=1'], {
      'net/ipv4/ip_local_port_range': '40000 40999', 'net/ipv4/tcp_tw_reuse': '0',
    });
    const port = Number(s.ready.port);
    const { code, of } = await diagnose(s.pid, s.isolated);

    const [lo, hi] = netnsSysctl(s.pid, 'net/ipv4/ip_local_port_range').split(/\s+/).map(Number) as [number, number];
    const size = hi - lo + 1;
    const waiting = tcpRows(s.pid).filter((r) => r.state === 'TIME_WAIT');
    const toDb = waiting.filter((r) => r.remote === '127.0.0.1' && r.remotePort === port).length;
    const ssToDb = ssTcp(s.pid).filter((r) => r.state === 'TIME-WAIT' && r.peer === `127.0.0.1:${port}`).length;
    expect(ssToDb).toBe(toDb);

    const f = of('time-wait');
    expect(f).toHaveLength(1);
    const row = f[0]!.evidence.find((e) => e.peer === `127.0.0.1:${port}`);
    if (row === undefined && !s.isolated) {
      console.warn(`time-wait: 127.0.0.1:${port} not among the top endpoints of the host namespace; only the finding was checked`);
      return;
    }
    expect(row).toEqual({
      peer: `127.0.0.1:${port}`, service: port === 3306 ? 'mysql' : null, count: toDb,
      ephemeralRange: `${lo}-${hi}`, rangeUsed: `${Math.round((toDb / size) * 1000) / 10}%`, touchesProcess: true,
    });
    if (!s.isolated) return; // the host namespace has other TIME_WAIT traffic: totals and ranking are not ours
    expect(toDb).toBe(Number(s.ready.requests));
    expect(waiting.length).toBe(toDb);
    const share = (toDb / size) * 100;
    const { warnPercent, criticalPercent } = timeWait.defaults;
    const severity = share >= criticalPercent ? 'critical' : share >= warnPercent ? 'warning' : 'info';
    expect(severity).toBe('warning');
    expect(f.map((x) => [x.count, x.severity])).toEqual([[waiting.length, severity]]);
    expect(f[0]!.evidence).toEqual([row]);
    expect(f[0]!.message).toContain(`to 127.0.0.1:3306 (mysql), ${row!.rangeUsed} of the ${size} ephemeral ports ${lo}-${hi}`);
    expect(code).toBe(1);
  });

  it('fd-limit: open fds at 90% of a lowered soft RLIMIT_NOFILE', async () => {
    const s = await start('near-limit.py', ['--limit=200', '--percent=90']);
    const { code, doc, of } = await diagnose(s.pid, s.isolated);

    const u = fdUsage(s.pid);
    expect(u.soft).toBe(200);
    const share = (u.open / u.soft) * 100;
    const severity = share >= fdLimit.defaults.criticalPercent ? 'critical' : 'warning';
    expect(share).toBeGreaterThanOrEqual(fdLimit.defaults.warnPercent);
    const f = of('fd-limit');
    expect(f.map((x) => [x.count, x.severity])).toEqual([[u.open, severity]]);
    expect(f[0]!.evidence).toEqual([{ open: u.open, soft: u.soft, hard: u.hard, headroom: u.soft - u.open }]);
    expect(doc.fds.total).toBe(u.open);
    expect(doc.process.fdLimit).toEqual({ soft: u.soft, hard: u.hard });
    expect(code).toBe(1);
  });

  it('fin-wait2: a client that shut down writing and keeps waiting; its server holds CLOSE_WAIT', async () => {
    const s = await start('half-close-client.mjs', [portArg(47150), '--connections=12']);
    const port = Number(s.ready.port);
    const { code, of } = await diagnose(s.pid, s.isolated);

    const mine = socketFds(s.pid);
    const rows = tcpRows(s.pid).filter((r) => r.state === 'FIN_WAIT2');
    const held = rows.filter((r) => mine.has(r.inode)).length;
    expect(ssTcp(s.pid).filter((r) => r.state === 'FIN-WAIT-2' && r.pids.includes(s.pid)).length).toBe(held);
    expect(held).toBe(Number(s.ready.finWait2));
    const f = of('fin-wait2').filter(serious); // held open (never time out): a warning
    expect(f.map((x) => [x.count, x.severity])).toEqual([[held, 'warning']]);
    expect(f[0]!.evidence).toEqual([expect.objectContaining({ peer: `127.0.0.1:${port}`, count: held })]);
    expect(code).toBe(1);

    // The other end: the forked server never closes, so it owns the same number in CLOSE_WAIT.
    const server = Number(s.ready.serverPid);
    const peer = await diagnose(server, s.isolated);
    const serverMine = socketFds(server);
    const cw = tcpRows(server).filter((r) => r.state === 'CLOSE_WAIT' && serverMine.has(r.inode)).length;
    expect(cw).toBe(held);
    // The client's FIN_WAIT2 sockets are the other half of these CLOSE_WAIT (issue 10.4).
    expect(peer.of('close-wait').map((x) => [x.count, x.evidence])).toEqual([[cw, [{ peer: '127.0.0.1', listener: `:${port}`, service: null, count: cw, finWait2Peers: held }]]]);
    expect(peer.of('close-wait')[0]!.message).toContain(`the other half of the ${held} FIN_WAIT2 held by pid ${s.pid} (node)`);
  });

  it('a healthy busy process: no finding at warning or above, exit code 0', async () => {
    const s = await start('healthy-busy.mjs', [portArg(47140), '--connections=4']);
    const { code, doc } = await diagnose(s.pid, s.isolated);

    const sockets = socketFds(s.pid);
    const ssMine = ssTcp(s.pid).filter((r) => r.pids.includes(s.pid));
    expect(doc.fds.total).toBe(fdTargets(s.pid).size);
    expect(doc.sockets).toMatchObject({ total: sockets.size, orphans: 0 });
    expect(doc.sockets.byState.ESTABLISHED).toBe(ssMine.filter((r) => r.state === 'ESTAB').length);
    expect(doc.sockets.byState.LISTEN).toBe(1);
    if (!s.isolated) {
      // The host namespace's own TIME_WAIT churn may concern the namespace, not this process.
      const mine = doc.findings.filter((f) => serious(f) && !(f.rule === 'time-wait' && f.evidence.every((e) => e.touchesProcess === false)));
      expect(mine).toEqual([]);
      return;
    }
    expect(doc.findings.filter(serious)).toEqual([]);
    expect(code).toBe(0);
  });

  it.skipIf(!ns.ok)('a process in another network namespace is judged against its own tables: 0 orphans', async () => {
    const s = await start('healthy-busy.mjs', ['--port=47160', '--connections=3']); // runs only isolated
    expect(s.netns).not.toBe(readlinkSync('/proc/self/ns/net'));
    const sockets = [...socketFds(s.pid).keys()];
    expect(sockets.length).toBeGreaterThan(4);
    // From the host's tables every one of its sockets would look like an orphan ...
    const host = tableInodesIn('/proc/self/net');
    expect(sockets.filter((i) => host.has(i))).toEqual([]);
    // ... but its own namespace's tables list them all.
    const own = tableInodes(s.pid);
    expect(sockets.filter((i) => !own.has(i))).toEqual([]);

    const { code, doc, of } = await diagnose(s.pid, s.isolated);
    expect(doc.process.netns).toBe(s.netns);
    expect(doc.sockets).toMatchObject({ total: sockets.length, orphans: 0 });
    expect(of('orphan-sockets')).toEqual([]);
    expect(code).toBe(0);
  });
});

/** Starts a scenario (with per-namespace sysctls when isolated), stopped when the test ends. */
async function start(file: string, args: string[], sysctls?: Record<string, string>): Promise<Scenario> {
  const s = await startScenario(file, args, sysctls === undefined ? {} : { sysctls });
  onTestFinished(() => s.stop());
  return s;
}
