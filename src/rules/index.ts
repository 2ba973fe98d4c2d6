import type { Rule } from './rule.js';
import acceptBacklog from './accept-backlog.js';
import closeWait from './close-wait.js';
import fdLimit from './fd-limit.js';
import finWait2 from './fin-wait2.js';
import orphanSockets from './orphan-sockets.js';
import timeWait from './time-wait.js';

/** Every rule, alphabetically. */
export const RULES: ReadonlyArray<Rule> = [acceptBacklog, closeWait, fdLimit, finWait2, orphanSockets, timeWait] as ReadonlyArray<Rule>;
