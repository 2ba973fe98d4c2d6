/**
 * Keys name the same process, fd and socket across reads: never the line a row was read from (rows
 * of /proc/net move between reads), and a pid with another start time is another process.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import { fdKey, processKey, sameProcess, socketKey } from '../../src/model/identity.js';
import { startScenario, stopAll } from '../helpers/netns.js';

afterAll(stopAll);

describe('identity keys', () => {
  it('two reads of a live process: the same fd and socket keys, though rows were read from other lines', async () => {
    const s = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=6']);
    // Another process in the namespace opens and closes sockets between the reads, so rows move.
    const a = await collectLiveProcess(s.pid);
    const churn = spawn('nsenter', [`--net=/proc/${s.pid}/ns/net`, process.execPath, '-e',
      'const n=require("net");const s=n.createServer().listen(0,"127.0.0.1",()=>{let k=0;for(let i=0;i<40;i++)n.connect(s.address().port,"127.0.0.1",()=>{if(++k===40)console.log("up")})});setTimeout(()=>process.exit(0),20000)'],
    { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => churn.stdout!.once('data', r));
    const b = await collectLiveProcess(s.pid);
    churn.kill('SIGKILL');
    await new Promise((r) => churn.once('exit', r));
    await s.stop();
    const owned = (x: typeof a) => x.sockets.filter((k) => k.owners.length > 0);
    const lines = (x: typeof a) => new Map(owned(x).map((k) => [k.inode, `${k.origin.source}:${k.origin.line}`]));
    const la = lines(a);
    const lb = lines(b);
    // The scenario moved rows: some socket of the process was read from another line the second time.
    expect([...la].some(([inode, at]) => lb.has(inode) && lb.get(inode) !== at)).toBe(true);
    expect(owned(b).map(socketKey).sort()).toEqual(owned(a).map(socketKey).sort());
    expect(b.fds.map(fdKey).sort()).toEqual(a.fds.map(fdKey).sort());
    expect(processKey(b.processes[0]!)).toBe(processKey(a.processes[0]!));
    expect(sameProcess(a.processes[0]!, b.processes[0]!)).toBe('same');
  });

  it('a socket key ignores where the row was read; TIME_WAIT rows (inode 0) are told apart by their endpoints', () => {
    const row = {
      proto: 'tcp' as const, family: 'inet' as const, state: 'TIME_WAIT' as const, detail: null,
      local: { address: '127.0.0.1', port: 40001 }, remote: { address: '127.0.0.1', port: 3306 },
      rxQueue: 0, txQueue: 0, backlog: null, uid: 0, inode: '0', owners: [], netns: 'net:[1]',
      origin: { source: '/proc/1/net/tcp', line: 7 },
    };
    expect(socketKey({ ...row, origin: { source: '/proc/1/net/tcp', line: 9 } })).toBe(socketKey(row));
    expect(socketKey({ ...row, local: { address: '127.0.0.1', port: 40002 } })).not.toBe(socketKey(row));
    expect(socketKey({ ...row, inode: '123', state: 'ESTABLISHED' })).toBe('net:[1]/tcp/123');
  });

  it('pid + start time: the same pid with another start time is another process', () => {
    expect(processKey({ pid: 4113, startTime: 98765 })).toBe('4113@98765');
    expect(processKey({ pid: 4113, startTime: null })).toBe('4113@?');
    expect(sameProcess({ pid: 4113, startTime: 1 }, { pid: 4113, startTime: 2 })).toBe('reused');
    expect(sameProcess({ pid: 4113, startTime: null }, { pid: 4113, startTime: 2 })).toBe('unknown');
    expect(sameProcess({ pid: 4113, startTime: 1 }, { pid: 4114, startTime: 1 })).toBe('other');
  });
});
