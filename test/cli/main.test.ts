/**
 * main.ts runs a plain `diagnose <pid>`, a plain `scan` and a plain `analyze` without commander
 * (options.ts diagnoseCall, scanCall, analyzeCall); the analyzes run are of captured fixtures. A corpus of argv, valid and not, goes both ways: diagnoseCall (scanCall) must give the options object commander gives
 * the action (or nothing, where commander refuses or does something else: help, version), and a
 * whole run must print the same stdout and stderr and exit with the same code whether commander
 * read argv or not. The runs are real diagnoses: of a `sleep` this test starts (live /proc), and of
 * a captured /proc tree (fixtures). The scans run are of a captured /proc tree (fixtures/scan): a
 * live box's processes change between two runs; live `scan` argv is compared as read only.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { analyzeCall, diagnoseCall, scanCall } from '../../src/cli/options.js';
import { commanderReads } from '../helpers/commander-reads.js';

const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
afterAll(() => { sleeper.kill('SIGKILL'); });
const P = String(sleeper.pid);
const TREE = 'fixtures/rules/close-wait/fires-server-never-closes'; // pid 11400
const PID_MAX = readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim(); // never handed out

/** argv main may run without commander: commander runs `diagnose` with them. */
const RUN: string[][] = [
  ['diagnose', P], ['diagnose', P, '--json'], ['--debug', 'diagnose', P, '--json'], ['diagnose', '--json', P, '--debug'],
  ['diagnose', P, '--fail-on', 'never'], ['diagnose', P, '--fail-on=info', '--json'], ['diagnose', '--', P],
  ['diagnose', '--proc-root', TREE, '11400', '--json'], ['diagnose', '11400', `--proc-root=${TREE}`, '--fail-on', 'critical'],
  ['diagnose', '11400', '--proc-root', TREE, '--set', 'close-wait.min=5', '--set', 'time-wait=off', '--json'],
  ['diagnose', '11400', '--proc-root', TREE, '--json', '--json', '--fail-on', 'info', '--fail-on', 'never'],
  ['diagnose', P, '--sample', '50ms', '--json'],
  // run, and refused by the action: the same one line either way
  ['diagnose', 'nginx'], ['diagnose', '0', '--json'], ['diagnose', PID_MAX], ['--debug', 'diagnose', 'nginx'],
  ['diagnose', P, '--fail-on', 'bogus'], ['diagnose', P, '--fail-on='], ['diagnose', P, '--sample', 'soon'],
  ['diagnose', P, '--set', 'nope'], ['diagnose', P, '--config', '/nonexistent/fdleak.json'], ['diagnose', P, '--proc-root', '--json'],
];

const SCANNED = 'fixtures/scan/basic/proc';

/** scan argv main may run without commander, run both ways (a captured tree: the same output each run). */
const SCAN_RUN: string[][] = [
  ['scan', '--proc-root', SCANNED], ['scan', '--proc-root', SCANNED, '--json'], ['--debug', 'scan', `--proc-root=${SCANNED}`, '--prometheus'],
  ['scan', '--proc-root', SCANNED, '--top', '3', '--sort', 'sockets'], ['scan', '--proc-root', SCANNED, '--sort=headroom', '--json', '--top=2'],
  ['scan', '--proc-root', SCANNED, '--group', 'unit'], ['scan', '--proc-root', SCANNED, '--group=container', '--json'],
  ['scan', '--proc-root', SCANNED, '--top', '1', '--top', '2', '--json', '--json'],
  // run, and refused by the action: the same one line either way
  ['scan', '--proc-root', SCANNED, '--json', '--prometheus'], ['scan', '--proc-root', SCANNED, '--sort', 'growth'],
  ['scan', '--proc-root', SCANNED, '--top', '0'], ['scan', '--proc-root', SCANNED, '--top', 'x', '--json'], ['scan', '--proc-root', SCANNED, '--sample', '2x'],
  ['scan', '--proc-root', SCANNED, '--group', 'unit', '--prometheus'], ['scan', '--proc-root', SCANNED, '--set', 'nope'],
  ['scan', '--proc-root', '/nonexistent/proc'], ['scan', '--proc-root', SCANNED, '--config', '/nonexistent/fdleak.json'],
];

/** Scans main runs without commander, compared as read: live ones (the box changes between two runs) and --sample (timed). */
const SCAN_READ: string[][] = [
  ['scan'], ['scan', '--json'], ['--debug', 'scan', '--top', '5'], ['scan', '--prometheus', '--debug'],
  ['scan', '--proc-root', SCANNED, '--sample', '20ms', '--sort', 'growth', '--json'], ['scan', '--set', 'fd-growth.min=5', '--sample', '2s'],
];

/** scan argv only commander reads. */
const SCAN_COMMANDER: string[][] = [
  ['scan', 'extra'], ['scan', '--sort', 'bogus'], ['scan', '--group', 'pod'], ['scan', '--top'], ['scan', '--help'], ['scan', '-V'],
  ['scan', '--json=1'], ['scan', '--', 'x'], ['--json', 'scan'], ['scan', '--pid', '1'],
];

const LSOF = 'fixtures/lsof/list-everything.txt';
const SS = 'fixtures/ss/Htanp.txt';

/** analyze argv main may run without commander, run both ways (captured text: the same output each run). */
const ANALYZE_RUN: string[][] = [
  ['analyze', LSOF], ['analyze', LSOF, '--json'], ['--debug', 'analyze', LSOF, SS, '--json'], ['analyze', '--json', LSOF, '--fail-on', 'never'],
  ['analyze', LSOF, '--format', 'lsof', '--fail-on=info'], ['analyze', 'fixtures/lsof/close-wait-filter.txt', '--state', 'close-wait', '--json'],
  ['analyze', SS, '--port-range', '32768-60999', '--fd-limit', '1024', '--somaxconn=4096', '--json'],
  ['analyze', LSOF, '--set', 'close-wait.min=2', '--set', 'time-wait=off', '--json'], ['analyze', '--', LSOF],
  ['analyze', LSOF, '--json', '--json', '--fail-on', 'info', '--fail-on', 'never'],
  // run, and refused by the action or the input: the same one line either way
  ['analyze'], ['analyze', 'fixtures/lsof/bad-garbage.txt'], ['analyze', '/nonexistent/capture.txt'], ['analyze', LSOF, '--fail-on', 'bogus'],
  ['analyze', LSOF, '--state', 'sleepy'], ['analyze', LSOF, '--port-range', '9-1-2'], ['analyze', LSOF, '--fd-limit', '0'],
  ['analyze', LSOF, '--set', 'nope'], ['analyze', LSOF, '--config', '/nonexistent/fdleak.json'], ['--debug', 'analyze', 'fixtures/lsof/empty.txt'],
];

/** analyze argv only commander reads. */
const ANALYZE_COMMANDER: string[][] = [
  ['analyze', LSOF, '--format', 'bogus'], ['analyze', '--help'], ['analyze', LSOF, '-V'], ['analyze', LSOF, '--json=1'], ['analyze', LSOF, '--state'],
  ['--json', 'analyze', LSOF], ['analyze', LSOF, '--pid', '1'],
];

/** argv only commander reads: errors in argv, help, version, other commands. */
const COMMANDER: string[][] = [
  ['diagnose'], ['diagnose', P, '2'], ['diagnose', P, '--bogus'], ['diagnose', '--help'], ['diagnose', P, '-h'],
  ['--help', 'diagnose', P], ['-h'], ['--version'], ['-V'], ['--version', '--debug'], ['diagnose', P, '-V'], ['diagnose', '-5'], ['diagnose', P, '--json=yes'],
  ['diagnose', P, '--fail-on'], ['--json', 'diagnose', P], ['diagnose', '--', P, '--json'], ['diagnose', P, '--debug=1'],
  ['rules', '--json'], ['nope', P], [],
];

interface Run { code: number; out: string; err: string }

/** A whole run of main, its output with what differs between two runs masked: the time, the scan's duration metric, --debug's timings, stack frames. */
async function run(argv: string[], commander: boolean): Promise<Run> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY: false, env: { NO_COLOR: '1' }, stdin: process.stdin, stdinIsTTY: true };
  const code = await main(argv, io, undefined, { commander });
  const iso = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;
  err = err.split('\n').filter((l) => !l.startsWith('    at ')).map((l) => (/^fdleak: (diagnose \d|timeline|scan \d|scan timeline)/.test(l) ? l.replace(/\d+(\.\d+)?/g, 'N') : l)).join('\n');
  return { code, out: out.replace(iso, 'TIME').replace(/^fdleak_scan_duration_seconds .*$/m, 'DURATION'), err };
}

describe('main: a plain diagnose without commander', () => {
  it('reads every argv of the corpus as commander does: the same options object, or leaves it to commander', () => {
    for (const argv of RUN) {
      const theirs = commanderReads(argv);
      const ours = diagnoseCall(argv);
      expect(theirs, argv.join(' ')).not.toBe('refused');
      if (theirs === 'refused') continue;
      expect(theirs.command).toBe('diagnose');
      expect(ours, argv.join(' ')).toEqual({ pidText: theirs.args[0], opts: theirs.options, debug: theirs.globals.debug === true });
    }
    for (const argv of [...COMMANDER, ...SCAN_RUN, ...SCAN_READ]) expect(diagnoseCall(argv), argv.join(' ')).toBeUndefined();
  });

  it('reads every scan argv of the corpus as commander does, or leaves it to commander', () => {
    for (const argv of [...SCAN_RUN, ...SCAN_READ]) {
      const theirs = commanderReads(argv);
      expect(theirs, argv.join(' ')).not.toBe('refused');
      if (theirs === 'refused') continue;
      expect(theirs.command).toBe('scan');
      expect(scanCall(argv), argv.join(' ')).toEqual({ opts: theirs.options, debug: theirs.globals.debug === true });
    }
    for (const argv of [...SCAN_COMMANDER, ...COMMANDER, ...RUN]) expect(scanCall(argv), argv.join(' ')).toBeUndefined();
  });

  it('reads every analyze argv of the corpus as commander does, or leaves it to commander', () => {
    for (const argv of ANALYZE_RUN) {
      const theirs = commanderReads(argv);
      expect(theirs, argv.join(' ')).not.toBe('refused');
      if (theirs === 'refused') continue;
      expect(theirs.command).toBe('analyze');
      expect(analyzeCall(argv), argv.join(' ')).toEqual({ files: theirs.args, opts: theirs.options, debug: theirs.globals.debug === true });
    }
    for (const argv of [...ANALYZE_COMMANDER, ...COMMANDER, ...RUN, ...SCAN_RUN]) expect(analyzeCall(argv), argv.join(' ')).toBeUndefined();
  });

  it('prints the same and exits the same either way', async () => {
    const codes = new Set<number>();
    for (const argv of [...RUN, ...COMMANDER, ...SCAN_RUN, ...SCAN_COMMANDER, ...ANALYZE_RUN, ...ANALYZE_COMMANDER]) {
      const fast = await run(argv, false);
      const viaCommander = await run(argv, true);
      expect(fast, argv.join(' ')).toEqual(viaCommander);
      codes.add(fast.code);
    }
    expect([...codes].sort()).toEqual([0, 1, 2]); // the corpus reaches every exit code
  }, 60_000);
});
