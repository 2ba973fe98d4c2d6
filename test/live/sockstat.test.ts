/**
 * A TCP table is left unread only when it holds no row (issue 14: the empty tcp6 of a crowded IPv4
 * namespace cost 20 ms of kernel time). Checked against the tables themselves, read at the same
 * moment, in namespaces of their own: IPv4 connections only (tcp6 is empty and skipped, and diagnose
 * gives what the full read gives); an IPv6 listener; an IPv6 TIME_WAIT left with no IPv6 socket in
 * use (the counters' "tw" keeps both tables read).
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { collectLiveProcess, readNetTables } from '../../src/live/diagnose.js';
import { readTcpTablesWithoutRows, tcpTablesWithoutRows } from '../../src/live/sockstat.js';
import { netnsSupport } from '../helpers/netns.js';

/** Data rows of /proc/<pid>/net/<table> now. */
const rows = (pid: number, table: string): number => readFileSync(`/proc/${pid}/net/${table}`, 'latin1').trim().split('\n').length - 1;

const stops: Array<() => void> = [];
afterAll(() => stops.forEach((stop) => stop()));

/** python3 running `code` in a network namespace of its own (lo up); resolves to its pid once it prints a line. */
async function inOwnNetns(code: string): Promise<number> {
  const child = spawn('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec python3 -c "$0"', code], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  stops.push(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`python3 exited (${c})`)));
  });
  return child.pid!;
}

describe('tcpTablesWithoutRows', () => {
  it('reads the counters of sockstat and sockstat6 (text of this machine)', () => {
    const v6 = 'TCP6: inuse 0\nUDP6: inuse 0\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n';
    const stat = (inuse: number, tw: number): string => `sockets: used 25950\nTCP: inuse ${inuse} orphan 0 tw ${tw} alloc 88501 mem 2719\nUDP: inuse 0 mem 0\n`;
    expect(tcpTablesWithoutRows(stat(23950, 0), v6)).toEqual(new Set(['tcp6']));
    expect(tcpTablesWithoutRows(stat(0, 0), v6)).toEqual(new Set(['tcp', 'tcp6']));
    expect(tcpTablesWithoutRows(stat(0, 1), v6)).toEqual(new Set());
    expect(tcpTablesWithoutRows(stat(0, 0), v6.replace('inuse 0', 'inuse 2'))).toEqual(new Set(['tcp']));
    expect(tcpTablesWithoutRows('TCP: inuse 0\n', v6)).toEqual(new Set()); // a format not known: read everything
    expect(tcpTablesWithoutRows(stat(0, 0), '')).toEqual(new Set());
  });
});

describe('TCP tables left unread, against the tables', () => {
  it('IPv4 only: tcp6 is empty and unread, and diagnose gives what the full read gives', async (ctx) => {
    const ns = netnsSupport();
    if (!ns.ok) ctx.skip(`needs a network namespace of its own: ${ns.reason}`);
    // Connections that nobody closes: a peer that closed first would leave an orphaned FIN_WAIT2, a
    // TIME_WAIT minisock (counted in "tw"), which makes both tables be read.
    const pid = await inOwnNetns(`import socket,time
l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen()
held=[socket.create_connection(l.getsockname()) for _ in range(10)]; held+=[l.accept()[0] for _ in range(10)]
print('ready',flush=True); time.sleep(30)`);
    const s = { pid, netns: readlinkSync(`/proc/${pid}/ns/net`) };
    const empty = readTcpTablesWithoutRows(`/proc/${s.pid}/net`);
    expect(empty).toEqual(new Set(['tcp6']));
    expect(rows(s.pid, 'tcp6')).toBe(0);
    expect(rows(s.pid, 'tcp')).toBe(21);
    const snapshot = await collectLiveProcess(s.pid);
    const full = readNetTables(`/proc/${s.pid}/net`, s.netns);
    expect(snapshot.namespaces[0]!.tables).toEqual(full.tables);
    expect(full.tables).toContain('tcp6');
    const inodes = new Set(snapshot.sockets.map((r) => r.inode));
    expect(full.sockets.filter((r) => r.inode !== null && inodes.has(r.inode)).length).toBe(snapshot.sockets.length);
  });

  it('an IPv6 listener: tcp6 is read', async (ctx) => {
    const ns = netnsSupport();
    if (!ns.ok) ctx.skip(`needs a network namespace of its own: ${ns.reason}`);
    const pid = await inOwnNetns(`import socket,time
s=socket.socket(socket.AF_INET6); s.bind(('::1',0)); s.listen(); print('ready',flush=True); time.sleep(30)`);
    expect(rows(pid, 'tcp6')).toBe(1);
    expect(readTcpTablesWithoutRows(`/proc/${pid}/net`)).toEqual(new Set(['tcp']));
  });

  it('an IPv6 TIME_WAIT and no IPv6 socket in use: both tables are read', async (ctx) => {
    const ns = netnsSupport();
    if (!ns.ok) ctx.skip(`needs a network namespace of its own: ${ns.reason}`);
    // The client closes first (TIME_WAIT on its side), then the server closes its ends and the listener.
    const pid = await inOwnNetns(`import socket,time
l=socket.socket(socket.AF_INET6); l.bind(('::1',0)); l.listen()
c=socket.create_connection(l.getsockname()[:2]); a,_=l.accept()
c.close(); time.sleep(0.2); a.close(); l.close(); time.sleep(0.2)
print('ready',flush=True); time.sleep(30)`);
    const tcp6 = readFileSync(`/proc/${pid}/net/tcp6`, 'latin1').trim().split('\n').slice(1);
    expect(tcp6.map((row) => row.trim().split(/\s+/)[3])).toEqual(['06']); // TIME_WAIT
    expect(readFileSync(`/proc/${pid}/net/sockstat6`, 'latin1')).toMatch(/^TCP6: inuse 0$/m);
    expect(readTcpTablesWithoutRows(`/proc/${pid}/net`)).toEqual(new Set());
  });
});
