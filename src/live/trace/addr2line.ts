/**
 * file:line of stack frames, from binutils' addr2line (by absolute path, never a PATH lookup):
 *   /usr/bin/addr2line -f -C -e /tmp/leaker 0x11f5 0x1330
 * prints two lines per address: the function ("query_backend", "??") and "file:line"
 * ("/tmp/leak.c:12", "/tmp/leak.c:12 (discriminator 1)", "??:0" or "??:?" without debug info).
 * The address is strace's bracketed object-relative value (see parseFrame). Cached per object and
 * address for the life of the process; one addr2line run per object.
 */
import { existsSync } from 'node:fs';
import { firstExisting } from './strace.js';

export interface SourceLine {
  function: string | null;
  file: string | null;
  line: number | null;
}

const ADDR2LINE_PATHS = ['/usr/bin/addr2line', '/bin/addr2line'];
const cache = new Map<string, SourceLine>();

/** Pure: addr2line -f output for `count` addresses -> one SourceLine each. */
export function parseAddr2line(text: string, count: number): SourceLine[] {
  const lines = text.split('\n');
  const out: SourceLine[] = [];
  for (let i = 0; i < count; i++) {
    const fn = lines[2 * i]?.trim() ?? '??';
    const loc = (lines[2 * i + 1] ?? '??:0').trim().replace(/ \(discriminator \d+\)$/, '');
    const colon = loc.lastIndexOf(':');
    const file = colon > 0 ? loc.slice(0, colon) : loc;
    const line = colon > 0 ? Number(loc.slice(colon + 1)) : Number.NaN;
    out.push({
      function: fn === '??' || fn === '' ? null : fn,
      file: file === '??' || file === '' ? null : file,
      line: Number.isInteger(line) && line > 0 ? line : null,
    });
  }
  return out;
}

/**
 * Resolves `frames` (object path, address) to source lines; frames addr2line cannot place stay
 * unresolved (null). A missing addr2line or object resolves nothing and says so through `warn`.
 */
export async function resolveSourceLines(
  frames: ReadonlyArray<{ object: string; address: string }>,
  warn: (message: string) => void,
): Promise<Map<string, SourceLine>> {
  const byObject = new Map<string, Set<string>>();
  for (const f of frames) {
    if (cache.has(`${f.object}\0${f.address}`)) continue;
    let set = byObject.get(f.object);
    if (set === undefined) byObject.set(f.object, (set = new Set()));
    set.add(f.address);
  }
  if (byObject.size > 0) {
    const tool = firstExisting(ADDR2LINE_PATHS);
    if (tool === undefined) warn('addr2line (binutils) not found: frames are shown as symbol+offset, without file:line');
    else {
      const { execa } = await import('execa');
      for (const [object, set] of byObject) {
        if (!object.startsWith('/') || !existsSync(object)) continue;
        const addresses = [...set];
        const r = await execa(tool, ['-f', '-C', '-e', object, ...addresses], { reject: false, timeout: 20_000, stdin: 'ignore' });
        if (r.exitCode !== 0) continue;
        const lines = parseAddr2line(String(r.stdout), addresses.length);
        addresses.forEach((a, i) => cache.set(`${object}\0${a}`, lines[i]!));
      }
    }
  }
  const out = new Map<string, SourceLine>();
  for (const f of frames) {
    const hit = cache.get(`${f.object}\0${f.address}`);
    if (hit !== undefined) out.set(`${f.object}\0${f.address}`, hit);
  }
  return out;
}
