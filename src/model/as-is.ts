/**
 * The fd, socket and process records zod would hand back unchanged, told without zod: every check of
 * FdSchema / SocketSchema passes, and the record holds exactly the schema's keys in the schema's
 * order (zod's copy puts keys in schema order, drops unknown ones, keeps an optional key that is
 * present). buildSnapshot (snapshot.ts) keeps such a record as it is and gives every other record to
 * zod, which copies it or says what is wrong with it: the answer is the same, only cheaper.
 *
 * Why: the compiled zod parser copies each record and its nested objects; on a diagnose of a
 * 15,000-fd process (12,500 socket rows) that was 40-50 ms of the run (copies and their garbage
 * collection), this check 5-8 ms. The live collectors build their records in schema order so
 * that they take this path (test/model/as-is.test.ts checks both, and that it agrees with zod on
 * every field and key order it tries).
 *
 * Each shape below lists its schema's keys in the schema's order; the test checks they are the
 * same keys as the zod schema's, so a field added to a schema and not here is caught.
 */
import { FD_KINDS } from './fd.js';
import { SOCKET_PROTOS } from './socket.js';
import { TCP_STATES } from './tcp-state.js';

type Check = (value: unknown) => boolean;
/** A key's check, and whether zod's object accepts the key absent (z.optional). */
interface Field { check: Check; optional: boolean }
type Shape = Readonly<Record<string, Field>>;

const is = (check: Check): Field => ({ check, optional: false });
const optional = (check: Check): Field => ({ check: (v) => v === undefined || check(v), optional: true });
const nullable = (check: Check): Check => (v) => v === null || check(v);
const string: Check = (v) => typeof v === 'string';
const boolean: Check = (v) => typeof v === 'boolean';
/** z.int() is a safe integer. */
const nonNegative: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const positive: Check = (v) => Number.isSafeInteger(v) && (v as number) > 0;
const port: Check = (v) => nonNegative(v) && (v as number) <= 65535;
const digits: Check = (v) => typeof v === 'string' && /^\d+$/.test(v);
const oneOf = (values: readonly string[]): Check => {
  const set = new Set<unknown>(values);
  return (v) => set.has(v);
};
/** A plain object with exactly the shape's keys, in its order (optional ones may be absent), each passing its check. */
const object = (shape: Shape): Check => {
  const keys = Object.keys(shape);
  const fields = keys.map((k) => shape[k]!);
  return (v) => {
    if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
    let i = 0;
    for (const key in v) {
      while (i < keys.length && keys[i] !== key) {
        if (!fields[i]!.optional) return false;
        i++;
      }
      if (i === keys.length || !fields[i]!.check((v as Record<string, unknown>)[key])) return false;
      i++;
    }
    for (; i < keys.length; i++) if (!fields[i]!.optional) return false;
    return true;
  };
};
const arrayOf = (check: Check): Check => (v) => {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!(i in v) || !check(v[i])) return false;
  return true;
};

export const ORIGIN_SHAPE: Shape = { source: is(string), line: is(nonNegative) };

export const FD_SHAPE: Shape = {
  pid: is(positive),
  fd: is(nonNegative),
  kind: is(oneOf(FD_KINDS)),
  inode: is(nullable(digits)),
  target: is(string),
  hint: is(nullable(string)),
  origin: is(object(ORIGIN_SHAPE)),
  deleted: optional(boolean),
  size: optional(nullable(nonNegative)),
  diskBytes: optional(nullable(nonNegative)),
  anonType: optional(string),
  inotifyWatches: optional(nullable(nonNegative)),
};

export const ENDPOINT_SHAPE: Shape = { address: is(string), port: is(nullable(port)) };
export const OWNER_SHAPE: Shape = { pid: is(positive), fd: is(nullable(nonNegative)), command: is(nullable(string)) };

export const SOCKET_SHAPE: Shape = {
  proto: is(oneOf(SOCKET_PROTOS)),
  family: is(nullable(oneOf(['inet', 'inet6', 'unix', 'netlink', 'packet']))),
  state: is(nullable(oneOf(TCP_STATES))),
  detail: is(nullable(string)),
  local: is(nullable(object(ENDPOINT_SHAPE))),
  remote: is(nullable(object(ENDPOINT_SHAPE))),
  rxQueue: is(nullable(nonNegative)),
  txQueue: is(nullable(nonNegative)),
  backlog: is(nullable(nonNegative)),
  uid: is(nullable(nonNegative)),
  inode: is(nullable(digits)),
  owners: is(arrayOf(object(OWNER_SHAPE))),
  netns: is(nullable(string)),
  origin: is(object(ORIGIN_SHAPE)),
};

/** A soft or hard limit: a count or "unlimited". */
const limitValue: Check = (v) => v === 'unlimited' || nonNegative(v);
export const LIMITS_SHAPE: Shape = { soft: is(limitValue), hard: is(limitValue) };
/** z.record over FdKindSchema: zod fills every kind, in FD_KINDS order. */
export const FD_KINDS_SHAPE: Shape = Object.fromEntries(FD_KINDS.map((k) => [k, is(nonNegative)]));
export const TARGET_SHAPE: Shape = { target: is(string), kind: is(oneOf(FD_KINDS)), count: is(positive) };

/**
 * A captured process (capture/capture.ts builds them in this order): `location` and `inotifyUser`,
 * which only live snapshots fill, are "as is" when absent or null; filled, zod copies the record.
 * A million-line capture names thousands of processes (the 1M-line "as other processes" bench:
 * ~5,800, each with its repeated targets): zod's copy of them was ~6% of the run.
 */
export const PROCESS_SHAPE: Shape = {
  pid: is(positive),
  command: is(string),
  cmdline: is(nullable(string)),
  uid: is(nullable(nonNegative)),
  startTime: is(nullable(nonNegative)),
  fdCount: is(nonNegative),
  fdTableComplete: is(boolean),
  fdLimit: is(nullable(object(LIMITS_SHAPE))),
  netns: is(nullable(string)),
  threads: is(nullable(positive)),
  fdKinds: is(nullable(object(FD_KINDS_SHAPE))),
  location: optional((v) => v === null),
  repeatedTargets: optional(arrayOf(object(TARGET_SHAPE))),
  inotifyUser: optional((v) => v === null),
};

/** Whether zod's FdSchema would return `record` unchanged (see the file comment). */
export const fdAsIs: Check = object(FD_SHAPE);
/** Whether zod's SocketSchema would return `record` unchanged (see the file comment). */
export const socketAsIs: Check = object(SOCKET_SHAPE);
/** Whether zod's ProcessSchema would return `record` unchanged (see the file comment). */
export const processAsIs: Check = object(PROCESS_SHAPE);
