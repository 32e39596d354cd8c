import { readdirSync, readFileSync } from 'node:fs';

/** The parent pid of `pid` from /proc (Linux), or undefined when the process is gone. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields after its closing one are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it, parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const parent = parentPid(Number(entry));
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/**
 * Freezes a process tree with SIGSTOP (the root first, so it cannot start a new child meanwhile) and returns the
 * function that thaws exactly those processes. Thawing twice is harmless; call it in a `finally`.
 */
export function freeze(rootPid: number): () => void {
  const stopped: number[] = [];
  process.kill(rootPid, 'SIGSTOP');
  stopped.push(rootPid);
  for (const pid of processTree(rootPid).slice(1)) {
    try {
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // exited meanwhile
      }
    }
  };
}

/** How long `p` took to settle, and how. */
export async function timed<T>(p: Promise<T>): Promise<{ ms: number; error: unknown; value: T | undefined }> {
  const start = performance.now();
  try {
    const value = await p;
    return { ms: performance.now() - start, error: undefined, value };
  } catch (error) {
    return { ms: performance.now() - start, error, value: undefined };
  }
}
