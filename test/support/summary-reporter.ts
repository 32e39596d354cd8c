import type { RunnerTask, RunnerTestFile } from 'vitest';
import type { Reporter } from 'vitest/reporters';

/** Prints one plain closing line, `tests: N passed, N failed, N skipped`, that any CI log reader understands. */
export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const visit = (task: RunnerTask): void => {
      if (task.type === 'suite' || task.type === undefined) {
        for (const child of (task as { tasks?: RunnerTask[] }).tasks ?? []) visit(child);
        // A suite that failed by itself (a hook threw) counts as a failure even if its tests were not run.
        if ((task.result?.errors?.length ?? 0) > 0) counts.failed++;
        return;
      }
      const state = task.result?.state;
      if (state === 'pass') counts.passed++;
      else if (state === 'fail') counts.failed++;
      else counts.skipped++;
    };
    for (const file of files) {
      for (const task of file.tasks) visit(task);
      if ((file.result?.errors?.length ?? 0) > 0) counts.failed++;
    }
    counts.failed += errors.length;
    console.log(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  }
}
