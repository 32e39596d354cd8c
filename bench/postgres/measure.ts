/** Runs `op` from `concurrency` workers for `ms` milliseconds and returns completed operations per second. */
export async function throughput(
  ms: number,
  concurrency: number,
  op: (k: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  let done = 0;
  const start = performance.now();
  const deadline = start + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await op(next++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - start) / 1000);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Heap and RSS samples taken while something runs, to show whether memory stays flat. */
export class MemorySampler {
  readonly samples: Array<{ events: number; heapMB: number; rssMB: number }> = [];

  sample(events: number): void {
    const m = process.memoryUsage();
    this.samples.push({ events, heapMB: m.heapUsed / 2 ** 20, rssMB: m.rss / 2 ** 20 });
  }

  /** Growth of the heap from the first sample after warm-up (10% in) to the largest later sample. */
  heapGrowthMB(): number {
    const warm = this.samples[Math.floor(this.samples.length / 10)] ?? this.samples[0];
    if (!warm) return 0;
    return Math.max(...this.samples.map((s) => s.heapMB)) - warm.heapMB;
  }
}
