/**
 * Whether this run started from the start-up snapshot (cli/snapshot.ts: bin/fdleak.js runs node
 * with --snapshot-blob dist/diagnose.blob or dist/fdleak.blob) rather than by loading the ES
 * modules: for --debug.
 */
export function startedFromSnapshot(): boolean {
  return process.execArgv.includes('--snapshot-blob');
}
