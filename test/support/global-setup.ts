import type { TestProject } from 'vitest/node';
import { backends } from './backends.js';

/**
 * Starts every real backend the suite needs, once per run, and hands their URLs to the test files through
 * `inject()`. A backend whose URL is given in the environment is used as it is; otherwise the rig starts it
 * itself. Under CI=true a backend that cannot start fails the run. Any failure is printed with its reason in one
 * line first (then the details), so a run never ends without saying why.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  try {
    for (const backend of backends) {
      const started = await backend.start().catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        console.error(
          `\nTest rig: could not start the backend for '${backend.key}': ${reason.split('\n')[0]}`,
        );
        throw err;
      });
      project.provide(backend.key, started.url);
      stops.push(started.stop);
    }
  } catch (err) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw err;
  }
  return async () => {
    await Promise.allSettled(stops.reverse().map((stop) => stop()));
  };
}
