/**
 * Reads one process again and again (`fdleak watch`, `diagnose --sample`): each sample is the same
 * read as `diagnose` (collectLiveProcess), taken on a fixed schedule from the start (a slow read
 * does not push every later sample back), until the duration is reached, the signal aborts, or the
 * process exits (or its pid is taken by another process). Starts no child process of its own; the
 * listen-backlog query (ss) is off for samples, so an abort leaves nothing running.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../errors.js';
import type { Process } from '../model/process.js';
import type { Snapshot } from '../model/snapshot.js';
import { collectLiveProcess } from './diagnose.js';

export interface SampleOptions {
  intervalMs: number;
  /** Stop after this long (the last sample is at or before it). */
  durationMs: number;
  signal?: AbortSignal;
  procRoot?: string;
  /** performance.now() the schedule and the duration count from (default: now); the first sample is taken at once. */
  origin?: number;
}

export interface Sample {
  snapshot: Snapshot;
  process: Process;
  /** 0-based. */
  index: number;
}

export type SampleEnd =
  | { reason: 'duration' | 'interrupted' }
  /** The process is gone (or its pid now belongs to another process): `message` says which. */
  | { reason: 'exited'; message: string };

/**
 * Yields each sample; returns why it stopped. The first read's errors (no such process, permission)
 * are thrown: there is nothing to watch. Later, a process that is gone ends the samples.
 */
export async function* sampleProcess(pid: number, options: SampleOptions): AsyncGenerator<Sample, SampleEnd> {
  const start = options.origin ?? performance.now();
  let first: Process | undefined;
  for (let index = 0; ; index++) {
    if (options.signal?.aborted === true) return { reason: 'interrupted' };
    let snapshot: Snapshot;
    try {
      snapshot = await collectLiveProcess(pid, { procRoot: options.procRoot, backlog: false });
    } catch (error) {
      if (first !== undefined && error instanceof InputError) return { reason: 'exited', message: `pid ${pid} exited after ${index} samples` };
      throw error;
    }
    const process = snapshot.processes[0]!;
    if (first !== undefined && snapshot.warnings.some((w) => w.includes('is a zombie'))) {
      return { reason: 'exited', message: `pid ${pid} exited after ${index} samples (a zombie: its parent has not reaped it)` };
    }
    if (first !== undefined && process.startTime !== first.startTime) {
      return { reason: 'exited', message: `pid ${pid} exited after ${index} samples; the pid now belongs to another process (${process.command})` };
    }
    if (process.fdCount === 0 && !process.fdTableComplete && snapshot.fds.length === 0) {
      throw new InputError(`cannot read the fds of pid ${pid} (${process.command}): permission denied; run as root or as the process's owner`, { source: `pid ${pid}` });
    }
    first ??= process;
    yield { snapshot, process, index };
    // The next whole interval from the start that is still ahead: a sample slower than the
    // interval skips the ticks it overran instead of piling up behind them.
    const now = performance.now();
    const next = start + (Math.floor((now - start) / options.intervalMs) + 1) * options.intervalMs;
    if (next - start > options.durationMs + 1) return { reason: 'duration' };
    const wait = next - now;
    if (wait > 0) {
      try {
        await sleep(wait, undefined, { signal: options.signal });
      } catch {
        return { reason: 'interrupted' };
      }
    }
  }
}
