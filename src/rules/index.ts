import type { Rule } from './rule.js';
import acceptBacklog from './accept-backlog.js';
import closeWait from './close-wait.js';
import deletedFiles from './deleted-files.js';
import fdGrowth from './fd-growth.js';
import fdLimit from './fd-limit.js';
import finWait2 from './fin-wait2.js';
import inotifyLimit from './inotify-limit.js';
import orphanSockets from './orphan-sockets.js';
import repeatedOpens from './repeated-opens.js';
import timeWait from './time-wait.js';

/** Every rule, alphabetically. */
export const RULES: ReadonlyArray<Rule> = [
  acceptBacklog, closeWait, deletedFiles, fdGrowth, fdLimit, finWait2, inotifyLimit, orphanSockets, repeatedOpens, timeWait,
] as ReadonlyArray<Rule>;

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}
