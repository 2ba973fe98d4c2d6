/**
 * Issue 10 point 9, live: the "sockets by state" table keeps TCP states apart from other kinds of
 * socket and is not drawn when there are none; `diagnose <tid>` of a thread reports its process and
 * names the thread; orphan sockets carry the protocol lsof would give (TCP, UDP, TCPv6). The truth
 * is read by the test from /proc and, for protocols, from the socket's system.sockprotoname xattr
 * (python's os.getxattr: Node has none).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, onTestFinished, type TestContext } from 'vitest';
import { runFdleak } from '../helpers/cli.js';
import { startScenario, stopAll } from '../helpers/netns.js';
import { socketFds, tableInodes } from '../helpers/proc.js';

afterAll(stopAll);

async function start(file: string, args: string[]): Promise<Awaited<ReturnType<typeof startScenario>>> {
  const s = await startScenario(file, args);
  onTestFinished(() => s.stop());
  return s;
}

/** Inodes of the unix sockets in the namespace of `pid` (/proc/<pid>/net/unix, column 7). */
function unixInodes(pid: number): Set<string> {
  return new Set(readFileSync(`/proc/${pid}/net/unix`, 'latin1').split('\n').slice(1).map((l) => l.trim().split(/\s+/)[6]!).filter(Boolean));
}

/** The table block whose heading row starts with `head` ("│ TCP by state"), as [name, count] rows. */
function tableRows(text: string, head: string): Array<[string, number]> | undefined {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.includes(`│ ${head} `));
  if (at < 0) return undefined;
  const col = lines[at]!.indexOf(`│ ${head} `);
  const rows: Array<[string, number]> = [];
  for (let i = at + 1; i < lines.length; i++) {
    const cell = lines[i]!.slice(col);
    if (!cell.startsWith('│')) break;
    const parts = cell.split('│').map((p) => p.trim());
    rows.push([parts[1]!, Number(parts[2])]);
  }
  return rows;
}

describe('issue 10.9: smaller things, live', () => {
  it('TCP states and other sockets in separate tables; none drawn for a process without sockets', async () => {
    const s = await start('proxy-upstream.mjs', ['--port=0', '--backend-port=0', '--upstream=0', '--hold=2']);
    const r = await runFdleak(['diagnose', String(s.pid)]);
    const mine = socketFds(s.pid);
    const unix = unixInodes(s.pid);
    const unixCount = [...mine.keys()].filter((i) => unix.has(i)).length;
    expect(unixCount).toBeGreaterThan(0); // Node's IPC channel to its forked backend
    const tcp = tableRows(r.stdout, 'TCP by state')!;
    expect(tcp.map(([k]) => k).every((k) => /^[A-Z_0-9]+$/.test(k) && k !== 'UNIX')).toBe(true);
    const json = JSON.parse((await runFdleak(['diagnose', String(s.pid), '--json'])).stdout) as { sockets: { byState: Record<string, number> } };
    expect(Object.fromEntries(tcp)).toEqual(Object.fromEntries(Object.entries(json.sockets.byState).filter(([k]) => k !== 'UNIX')));
    expect(tableRows(r.stdout, 'other sockets')).toEqual([['unix', unixCount]]);
    expect(r.stdout).not.toContain('sockets by state');

    // No socket at all: no socket table drawn (near-limit.py holds files and pipes only).
    const quiet = await start('near-limit.py', ['--limit=200', '--percent=10']);
    expect(socketFds(quiet.pid).size).toBe(0);
    const q = await runFdleak(['diagnose', String(quiet.pid)]);
    expect(q.stdout).toContain('fds by kind');
    expect(tableRows(q.stdout, 'TCP by state')).toBeUndefined();
    expect(tableRows(q.stdout, 'other sockets')).toBeUndefined();
  }, 30_000);

  it('diagnose <tid> of a thread reports its process and names the thread', async () => {
    const s = await start('unbound-sockets.py', ['--tcp=0', '--udp=0', '--tcp6=0', '--thread-name=worker-7']);
    const tid = Number(s.ready.tid);
    const tgid = Number(/^Tgid:\s*(\d+)$/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'))![1]);
    expect(tgid).toBe(s.pid);
    expect(tid).not.toBe(tgid);
    const threadName = readFileSync(`/proc/${tid}/comm`, 'utf8').trim();
    const processName = readFileSync(`/proc/${tgid}/comm`, 'utf8').trim();
    expect(threadName).toBe('worker-7');

    const doc = JSON.parse((await runFdleak(['diagnose', String(tid), '--json'])).stdout) as {
      process: { pid: number; command: string; askedThread?: { tid: number; name: string } };
    };
    expect(doc.process).toMatchObject({ pid: tgid, command: processName, askedThread: { tid, name: threadName } });
    const table = await runFdleak(['diagnose', String(tid)]);
    const [first, second] = table.stdout.split('\n');
    expect(first!.startsWith(`pid ${tgid} ${processName}`)).toBe(true);
    expect(second).toBe(`pid ${tid} is a thread (${threadName}) of this process: the process is what holds the fds`);
    // A process id is reported as before, with no thread line.
    const plain = JSON.parse((await runFdleak(['diagnose', String(tgid), '--json'])).stdout) as { process: Record<string, unknown> };
    expect(plain.process.askedThread).toBeUndefined();
  }, 30_000);

  it('orphan sockets carry their protocol (TCP, UDP, TCPv6), as the socket xattr says', async (ctx: TestContext) => {
    if (!['/usr/bin/python3', '/bin/python3'].some((p) => existsSync(p))) {
      ctx.skip('orphan protocol test skipped: python3 is not installed (fdleak then asks lsof, only for small processes)');
    }
    const s = await start('unbound-sockets.py', ['--tcp=11', '--udp=3', '--tcp6=2']);
    const known = tableInodes(s.pid);
    const orphans = [...socketFds(s.pid)].filter(([inode]) => !known.has(inode)).map(([, fd]) => fd);
    // The xattr, read by python (os.getxattr), for each orphan fd.
    const py = spawnSync('python3', ['-c', 'import os,sys\nfor fd in sys.argv[2:]: print(os.getxattr(f"/proc/{sys.argv[1]}/fd/{fd}", "system.sockprotoname").rstrip(b"\\0").decode())', String(s.pid), ...orphans.map(String)], { encoding: 'utf8' });
    expect(py.status).toBe(0);
    const truth = new Map<string, number>();
    for (const p of py.stdout.trim().split('\n')) truth.set(p, (truth.get(p) ?? 0) + 1);
    expect([...truth.keys()].sort()).toEqual(['TCP', 'TCPv6', 'UDP']);

    const doc = JSON.parse((await runFdleak(['diagnose', String(s.pid), '--json'])).stdout) as {
      findings: Array<{ rule: string; evidence: Array<{ protocol: string; count: number }> }>;
    };
    const f = doc.findings.find((x) => x.rule === 'orphan-sockets')!;
    expect(new Map(f.evidence.map((e) => [e.protocol, e.count]))).toEqual(truth);
  }, 30_000);
});
