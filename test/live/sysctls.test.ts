/**
 * parseNetSysctls gives values of NetSysctlsSchema's types by construction (integers or null): the
 * live snapshot holding them is not checked by zod (model/live-snapshot.ts). Text as the kernel
 * writes those files, and text it never writes (a hand-made --proc-root tree).
 */
import { describe, expect, it } from 'vitest';
import { parseNetSysctls } from '../../src/live/sysctls.js';
import { NetSysctlsSchema } from '../../src/model/snapshot.js';

describe('parseNetSysctls', () => {
  it('reads the kernel\'s text as integers', () => {
    const sysctls = parseNetSysctls(['32768\t60999\n', '60\n', '2\n', '262144\n', '4096\n']);
    expect(sysctls).toEqual({ ipLocalPortRange: [32768, 60999], tcpFinTimeout: 60, tcpTwReuse: 2, tcpMaxTwBuckets: 262144, somaxconn: 4096 });
    expect(NetSysctlsSchema.safeParse(sysctls).success).toBe(true);
  });

  it('says unknown (null) for what is not an integer, so the snapshot stays of the schema\'s types', () => {
    const sysctls = parseNetSysctls(['1.5 9', '1.5\n', 'abc', '', null]);
    expect(sysctls).toEqual({ ipLocalPortRange: null, tcpFinTimeout: null, tcpTwReuse: null, tcpMaxTwBuckets: null, somaxconn: null });
    expect(NetSysctlsSchema.safeParse(sysctls).success).toBe(true);
  });
});
