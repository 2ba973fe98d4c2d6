/**
 * as-is.ts says which records zod would hand back unchanged, so that buildSnapshot can keep them
 * without a copy. It must never say so of a record zod rejects or would change (reorder, strip,
 * fill): each case below is a real record bent one way, judged by both, and where as-is.ts says
 * "as is", zod must accept it and give back the same JSON. And it must say so of the records the
 * live collectors build, or the shortcut is never taken.
 */
import { describe, expect, it } from 'vitest';
import { ENDPOINT_SHAPE, FD_KINDS_SHAPE, FD_SHAPE, fdAsIs, LIMITS_SHAPE, ORIGIN_SHAPE, OWNER_SHAPE, PROCESS_SHAPE, processAsIs, SOCKET_SHAPE, socketAsIs, TARGET_SHAPE } from '../../src/model/as-is.js';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import { FD_KINDS } from '../../src/model/fd.js';
import { ProcessSchema } from '../../src/model/process.js';
import { buildSnapshot, UNKNOWN_SYSCTLS } from '../../src/model/snapshot.js';
import { FdSchema } from '../../src/model/fd.js';
import { OriginSchema } from '../../src/model/origin.js';
import { EndpointSchema, OwnerSchema, SocketSchema } from '../../src/model/socket.js';
import { readProcPidFd } from '../../src/live/proc-pid.js';
import { parseProcNetInet } from '../../src/parse/proc-net-inet.js';
import { parseProcNetUnix } from '../../src/parse/proc-net-unix.js';

const FD = {
  pid: 42, fd: 7, kind: 'socket', inode: '438448', target: 'socket:[438448]', hint: null,
  origin: { source: '/proc/42/fd', line: 0 },
};
const SOCKET = {
  proto: 'tcp', family: 'inet', state: 'CLOSE_WAIT', detail: null,
  local: { address: '127.0.0.1', port: 8080 }, remote: { address: '127.0.0.1', port: 51234 },
  rxQueue: 1, txQueue: 0, backlog: null, uid: 0, inode: '438448',
  owners: [{ pid: 42, fd: 7, command: 'python3' }], netns: 'net:[4026531840]',
  origin: { source: '/proc/42/net/tcp', line: 3 },
};
/** A process as analyze builds it from an lsof capture (capture/capture.ts). */
const PROCESS = {
  pid: 42, command: 'python3', cmdline: null, uid: null, startTime: null, fdCount: 12, fdTableComplete: true,
  fdLimit: { soft: 1024, hard: 'unlimited' }, netns: null, threads: null,
  fdKinds: { socket: 8, pipe: 2, file: 2, anon_inode: 0, other: 0 },
  repeatedTargets: [{ target: '/dev/null', kind: 'file', count: 2 }],
};
const ODD = [undefined, null, -1, 0, 1.5, 70000, Number.NaN, 2 ** 60, '', 'x', '12', 'LISTEN', 'socket', 'inet', true, {}, [], [{}]];

/** The record with `path` set to `value` (or deleted: `value` DELETE), as a fresh deep copy. */
const DELETE = Symbol('delete');
function bent(record: object, path: readonly (string | number)[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(record) as Record<string, unknown>;
  let at = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === DELETE) delete at[last];
  else at[last] = value;
  return copy;
}

/** Every single-field change, key move and extra key of `record` (nested objects included). */
function variants(record: object): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const walk = (value: unknown, path: Array<string | number>): void => {
    if (typeof value !== 'object' || value === null) return;
    const keys = Object.keys(value);
    for (const k of Array.isArray(value) ? keys.map(Number) : keys) {
      const here = [...path, k];
      for (const odd of ODD) out.push(bent(record, here, odd));
      out.push(bent(record, here, DELETE));
      walk((value as Record<string, unknown>)[k], here);
    }
    if (!Array.isArray(value)) {
      out.push(bent(record, [...path, 'extra'], 1));
      // The first key moved last: same keys, another order.
      const moved = bent(record, path.length === 0 ? ['__none'] : path, path.length === 0 ? DELETE : { ...value });
      const target = (path.length === 0 ? moved : path.reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, moved));
      const first = keys[0]!;
      const v = target[first];
      delete target[first];
      target[first] = v;
      out.push(moved);
    }
  };
  walk(record, []);
  for (const [k, v] of [['deleted', true], ['size', 10], ['diskBytes', null], ['anonType', 'eventpoll'], ['inotifyWatches', 3]] as const) {
    out.push({ ...structuredClone(record), [k]: v }); // optional keys, added in order or not
  }
  return out;
}

describe('as-is check', () => {
  it('lists the schemas\' own keys, in their order', () => {
    expect(Object.keys(FD_SHAPE)).toEqual(Object.keys(FdSchema.shape));
    expect(Object.keys(SOCKET_SHAPE)).toEqual(Object.keys(SocketSchema.shape));
    expect(Object.keys(ORIGIN_SHAPE)).toEqual(Object.keys(OriginSchema.shape));
    expect(Object.keys(ENDPOINT_SHAPE)).toEqual(Object.keys(EndpointSchema.shape));
    expect(Object.keys(OWNER_SHAPE)).toEqual(Object.keys(OwnerSchema.shape));
    expect(Object.keys(PROCESS_SHAPE)).toEqual(Object.keys(ProcessSchema.shape));
    expect(Object.keys(LIMITS_SHAPE)).toEqual(['soft', 'hard']);
    expect(Object.keys(FD_KINDS_SHAPE)).toEqual([...FD_KINDS]);
    expect(Object.keys(TARGET_SHAPE)).toEqual(['target', 'kind', 'count']);
  });

  it.each([
    ['fd', FD, fdAsIs, FdSchema],
    ['socket', SOCKET, socketAsIs, SocketSchema],
    ['process', PROCESS, processAsIs, ProcessSchema],
  ] as const)('%s: "as is" only where zod accepts it and gives back the same JSON', (_name, record, asIs, schema) => {
    expect(asIs(record)).toBe(true);
    let kept = 0;
    let rejected = 0;
    for (const v of variants(record)) {
      const zod = schema.safeParse(v);
      if (asIs(v)) {
        kept++;
        expect(zod.success).toBe(true);
        expect(JSON.stringify(zod.data)).toBe(JSON.stringify(v));
      } else rejected++;
    }
    // Both answers occur: valid variants (other values, optional keys) and broken ones.
    expect(kept).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(100);
  });

  it('passes the records the live collectors build (so buildSnapshot copies none of them)', () => {
    const fds = readProcPidFd('/proc', process.pid).fds;
    expect(fds.length).toBeGreaterThan(3);
    expect(fds.filter((f) => !fdAsIs(f))).toEqual([]);
    const tcp = parseProcNetInet('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
      + '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 438448 1 0000000000000000 100 0 0 10 0\n', '/proc/1/net/tcp');
    const unix = parseProcNetUnix('Num       RefCount Protocol Flags    Type St Inode Path\n'
      + '0000000000000000: 00000002 00000000 00010000 0001 01 21456 /run/x.sock\n', '/proc/1/net/unix');
    expect([...tcp, ...unix].map(socketAsIs)).toEqual([true, true]);
  });

  it('buildSnapshot keeps "as is" processes as they are, and gives zod a process that is not', () => {
    const snapshotOf = (processes: unknown[]): ReturnType<typeof buildSnapshot> => buildSnapshot({
      takenAt: '2026-12-03T00:00:00.000Z', kind: 'capture', processes: processes as never, fds: [], sockets: [],
      namespaces: [{ id: null, tables: ['lsof'], sysctls: UNKNOWN_SYSCTLS, backlogKnown: false }],
      host: { fileNr: null, nrOpen: null },
      coverage: { fdTables: true, socketTables: true, netnsAware: false, limits: false, sysctls: false, ownerlessRows: false },
      warnings: [],
    }, { inPlace: true });
    const asIs = structuredClone(PROCESS);
    expect(snapshotOf([asIs]).processes[0]).toBe(asIs);
    const { command, ...rest } = structuredClone(PROCESS);
    const moved = { command, ...rest }; // another key order: zod's copy puts it right
    const copied = snapshotOf([asIs, moved]).processes;
    expect(copied[1]).not.toBe(moved);
    expect(JSON.stringify(copied[1])).toBe(JSON.stringify(PROCESS));
    expect(() => snapshotOf([{ ...structuredClone(PROCESS), fdCount: -1 }])).toThrow(/fdCount/);
  });

  it('passes the processes analyze builds from a real lsof capture (so buildSnapshot copies none of them)', async () => {
    const { snapshot } = await analyzeCapture([await openLines('fixtures/lsof/list-everything.txt', process.stdin)], undefined, '2026-12-03T00:00:00.000Z');
    expect(snapshot.processes.length).toBeGreaterThan(10);
    expect(snapshot.processes.some((p) => (p.repeatedTargets ?? []).length > 0)).toBe(true);
    expect(snapshot.processes.filter((p) => !processAsIs(p))).toEqual([]);
  });
});
