import { z } from './zod.js';

/** Where a record was read: a path or command, and the 1-based line (0 for non-line sources). */
export const OriginSchema = z.object({ source: z.string(), line: z.number().check(z.int(), z.nonnegative()) });
