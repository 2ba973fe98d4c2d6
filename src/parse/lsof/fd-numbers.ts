/**
 * fd numbers of 10000 and up do not fit lsof's FD column and read "*000r", "*001r", ... (the last
 * three digits, wrapping every 1000). lsof lists a process's (or thread's) fds in ascending order,
 * which restores the number: "*NNN" is the first number above the previous fd of that run of rows
 * that ends in NNN, at least 10000. This remembers the last fd of each run.
 */
export class FdNumbers {
  // A run's rows are contiguous, so `carry` is read and written once per run, not per row.
  private runPid = -1;
  private runTid: number | null = null;
  private runLast: number | undefined;
  private runDirty = false;

  /** `carry`: last fd per "pid/tid", shared by several reads of one capture (or of captures read in turn). */
  constructor(private readonly carry: Map<string, number> = new Map()) {}

  /** The fd number of "*NNN" (`last3` = NNN) on a row of (pid, tid). */
  truncated(pid: number, tid: number | null, last3: number): number {
    if (pid !== this.runPid || tid !== this.runTid) this.switchRun(pid, tid);
    const prev = Math.max(this.runLast ?? 9999, 9999);
    const fd = prev - (prev % 1000) + last3;
    return fd <= prev ? fd + 1000 : fd;
  }

  /** The fd a row of (pid, tid) listed. */
  listed(pid: number, tid: number | null, fd: number): void {
    if (pid !== this.runPid || tid !== this.runTid) this.switchRun(pid, tid);
    this.runLast = fd;
    this.runDirty = true;
  }

  private switchRun(pid: number, tid: number | null): void {
    this.flush();
    this.runPid = pid;
    this.runTid = tid;
    this.runLast = this.carry.size === 0 ? undefined : this.carry.get(`${pid}/${tid ?? ''}`);
  }

  /**
   * Writes the current run's last fd to the carry (at the end of every read). A number below 9999
   * reads as no number at all, so while no run went past it the map stays empty: most captures
   * never touch it.
   */
  flush(): void {
    if (this.runDirty && (this.runLast! >= 9999 || this.carry.size > 0)) this.carry.set(`${this.runPid}/${this.runTid ?? ''}`, this.runLast!);
    this.runDirty = false;
  }
}
