import { describe, expect, it } from 'vitest';
import { parseAddr2line } from '../../src/live/trace/addr2line.js';
import { runtimeOf } from '../../src/trace/runtimes.js';
import { isSystemObject } from '../../src/trace/result.js';

describe('addr2line output', () => {
  // What `addr2line -f -C -e OBJ ADDR...` prints: two lines per address; " (discriminator N)" follows
  // some file:line pairs; "??" and "??:0" where there is no debug info.
  it('reads function and file:line per address, "??" as unknown, discriminators dropped', () => {
    const text = 'query_backend\n/work/wt/trace/test/trace/programs/two-paths.c:24\nmain\n/work/wt/trace/test/trace/programs/two-paths.c:43 (discriminator 2)\n??\n??:0\n';
    expect(parseAddr2line(text, 3)).toEqual([
      { function: 'query_backend', file: '/work/wt/trace/test/trace/programs/two-paths.c', line: 24 },
      { function: 'main', file: '/work/wt/trace/test/trace/programs/two-paths.c', line: 43 },
      { function: null, file: null, line: null },
    ]);
  });
});

describe('whose frame', () => {
  it('tells runtimes and system libraries from the program', () => {
    expect(runtimeOf(['/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/python3.11'])).toBe('python');
    expect(runtimeOf(['/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0'])).toBe('python');
    expect(runtimeOf(['/usr/lib/jvm/java-17/lib/server/libjvm.so'])).toBe('java');
    expect(runtimeOf(['/usr/bin/node'])).toBe('node');
    expect(runtimeOf(['/tmp/tr/two-paths', '/usr/lib/x86_64-linux-gnu/libc.so.6'])).toBeNull();
    expect(isSystemObject('/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe(true);
    expect(isSystemObject('/lib64/ld-linux-x86-64.so.2')).toBe(true);
    expect(isSystemObject('/tmp/tr/two-paths')).toBe(false);
  });
});
