/**
 * A vitest reporter for .ci/run, beside the default one: after the run it prints every skipped
 * test with its reason (the note given to ctx.skip; a skip without one is printed as such, so it
 * shows), then the counts. With FDLEAK_SUMMARY=<file> it also writes the counts there as JSON, for
 * .ci/run's closing line "N passed, N failed, N skipped".
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandled.length;
    const skipped: string[] = [];
    for (const module of modules) {
      const file = relative(process.cwd(), module.moduleId);
      // A file that failed to load (syntax error, a throw at top level) has no tests: count it failed.
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++;
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') failed++;
        else if (result.state === 'skipped') skipped.push(`skipped: ${file} > ${test.fullName}: ${result.note ?? 'NO REASON GIVEN'}`);
      }
    }
    if (skipped.length > 0) process.stdout.write(`\n${skipped.join('\n')}\n`);
    const counts = { passed, failed, skipped: skipped.length };
    if (process.env.FDLEAK_SUMMARY !== undefined) writeFileSync(process.env.FDLEAK_SUMMARY, JSON.stringify(counts));
  }
}
