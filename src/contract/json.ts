import { InvalidArgumentError, isEventStoreError } from './errors.js';

/**
 * How deep `data` and `metadata` may nest: at most 256 arrays or objects inside one another (the event's `data`
 * object itself is level 1). Deeper JSON overflows recursive parsers and serialisers (JSON.stringify throws
 * RangeError at a few thousand levels; common decoders in other languages stop at 128 to 1,000), so the contract
 * refuses it with INVALID_ARGUMENT before anything is written.
 */
export const MAX_JSON_DEPTH = 256;

/** True for `{}`-literal-like objects: prototype `Object.prototype` or `null`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function invalid(message: string, argument: string, cause?: unknown): never {
  throw new InvalidArgumentError(message, { argument, cause });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** One value still to check in {@link assertJson}'s walk; the path is rebuilt from `parent` only for an error. */
interface Pending {
  value: unknown;
  parent: Pending | undefined;
  key: string | number;
  depth: number;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;
/** Path segments shown in full; a deeper path keeps its first and last segments around an ellipsis. */
const MAX_PATH_SEGMENTS = 24;

export function segment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  // JSON.stringify escapes control characters and lone surrogates, so the path is always printable.
  return PLAIN_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function pathOf(root: string, node: Pending | undefined): string {
  const keys: Array<string | number> = [];
  for (let n = node; n?.parent !== undefined; n = n.parent) keys.push(n.key);
  keys.reverse();
  if (keys.length <= MAX_PATH_SEGMENTS) return root + keys.map(segment).join('');
  const head = keys
    .slice(0, MAX_PATH_SEGMENTS / 2)
    .map(segment)
    .join('');
  const tail = keys
    .slice(-MAX_PATH_SEGMENTS / 4)
    .map(segment)
    .join('');
  return `${root}${head}…${tail}`;
}

/** Marks, on the walk's stack, the point where a container's children are done: it leaves the ancestor set. */
const LEAVE = Symbol('leave');

/**
 * Throws unless `value` survives JSON unchanged. Accepted: null, booleans, finite numbers, strings without lone
 * surrogates, arrays without holes, and plain objects (prototype Object.prototype or null) with string keys without
 * lone surrogates, nested at most {@link MAX_JSON_DEPTH} deep. Rejected: undefined, functions, symbols, BigInt,
 * NaN/±Infinity, cycles, symbol keys, accessors (getters are never called), class instances (Date, Map, Buffer,
 * custom classes …), since JSON would turn them into something else; convert them yourself (e.g.
 * `date.toISOString()`). A value whose inspection throws (a revoked Proxy, a throwing trap) is rejected with the
 * thrown error as `cause`.
 *
 * The walk uses an explicit stack, so no depth of input can overflow the call stack.
 */
export function assertJson(value: unknown, path: string): void {
  const root: Pending = { value, parent: undefined, key: '', depth: 0 };
  const stack: Array<Pending | typeof LEAVE> = [root];
  const ancestors = new Set<object>();
  const open: object[] = [];
  let node: Pending = root;
  function fail(message: string, at: Pending = node, cause?: unknown): never {
    const where = pathOf(path, at);
    return invalid(`${where} ${message}`, where, cause);
  }
  try {
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (next === LEAVE) {
        ancestors.delete(open.pop()!);
        continue;
      }
      node = next;
      const v = node.value;
      switch (typeof v) {
        case 'string':
          if (!v.isWellFormed()) fail('has a string with a lone surrogate, which UTF-8 cannot encode');
          continue;
        case 'boolean':
          continue;
        case 'number':
          if (!Number.isFinite(v)) fail(`is ${v}, which JSON cannot represent`);
          continue;
        case 'object':
          break;
        default:
          fail(`is ${describe(v)}, which JSON cannot represent`);
      }
      if (v === null) continue;
      if (ancestors.has(v)) fail('contains a cycle');
      const depth = node.depth + 1;
      if (depth > MAX_JSON_DEPTH) invalid(`${path} is nested more than ${MAX_JSON_DEPTH} deep`, path);
      if (Array.isArray(v)) {
        ancestors.add(v);
        open.push(v);
        stack.push(LEAVE);
        for (let i = v.length - 1; i >= 0; i--) {
          const desc = Object.getOwnPropertyDescriptor(v, i);
          const child: Pending = { value: desc?.value, parent: node, key: i, depth };
          if (desc === undefined) fail('is a hole in a sparse array', child);
          if (!('value' in desc)) fail('is an accessor property', child);
          stack.push(child);
        }
        continue;
      }
      if (!isPlainObject(v)) {
        const name = (v as object).constructor?.name ?? 'unknown';
        fail(`is an instance of ${name}; only plain objects survive JSON unchanged`);
      }
      if (Object.getOwnPropertySymbols(v).length > 0) fail('has symbol keys');
      ancestors.add(v);
      open.push(v);
      stack.push(LEAVE);
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const desc = Object.getOwnPropertyDescriptor(v, key);
        const child: Pending = { value: desc?.value, parent: node, key, depth };
        if (!key.isWellFormed()) fail('has a key with a lone surrogate, which UTF-8 cannot encode', child);
        if (desc !== undefined && !('value' in desc)) fail('is an accessor property', child);
        stack.push(child);
      }
    }
  } catch (err) {
    if (isEventStoreError(err)) throw err;
    const name = err instanceof Error ? err.name : typeof err;
    fail(`could not be read: it threw ${name} (see cause)`, node, err);
  }
}
