import { expect, it } from 'vitest';
import { duration, Progress } from '../../src/copy/progress.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, columns: 100, writes, write: (text: string) => writes.push(text) };
}

it('draws a bar with percentage, rate and ETA in place on a terminal', () => {
  let now = 0;
  const out = sink(true);
  const p = new Progress(out, { label: 'copy', total: 100_000, now: () => now });
  now = 10_000;
  p.update(25_000);
  expect(out.writes).toEqual([
    `\rcopy [${'█'.repeat(10)}${'░'.repeat(30)}]  25% 25,000/100,000 · 2,500 ev/s · ETA 30 s\u001b[K`,
  ]);
  now = 10_050;
  p.update(25_100);
  expect(out.writes).toHaveLength(1);
  now = 40_000;
  p.update(100_000);
  p.finish();
  expect(out.writes.at(-1)).toBe('\n');
  expect(out.writes.at(-2)).toContain('100% 100,000/100,000 · 2,500 ev/s · ETA 0 s');
});

it('writes a plain line at most every lineEveryMs when not on a terminal', () => {
  let now = 0;
  const out = sink(false);
  const p = new Progress(out, { label: 'copy', total: 3_000, now: () => now, lineEveryMs: 5_000 });
  for (let i = 1; i <= 30; i++) {
    now = i * 1_000;
    p.update(i * 100);
  }
  p.finish();
  expect(out.writes[0]).toBe('copy: 100/3,000 events (3%), 100 events/s, ETA 29 s\n');
  expect(out.writes).toHaveLength(7);
  expect(out.writes.at(-1)).toBe('copy: 3,000/3,000 events (100%), 100 events/s, ETA 0 s\n');
});

it('formats durations as seconds, minutes or hours', () => {
  expect([duration(3), duration(125), duration(3_725), duration(Number.NaN)]).toEqual([
    '3 s',
    '2:05',
    '1:02:05',
    '?',
  ]);
});
