import type { TestProject } from 'vitest/node';
import { backends } from './backends.js';

/**
 * Starts every real backend the suite needs, once per run, and hands their URLs to the test files through
 * `inject()`. A backend whose URL is given in the environment is used as it is; otherwise the rig starts it
 * itself. Under CI=true a backend that cannot start fails the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  try {
    for (const backend of backends) {
      const started = await backend.start();
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
