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
  if (typeof value !== 'object' || value === null) {
    checkPrimitive(value, path, root);
    return;
  }
  const stack: Array<Pending | typeof LEAVE> = [root];
  // The containers on the path from the root to the one being read: a cycle revisits one of them. Paths are short,
  // so an array beats a Set here.
  const open: object[] = [];
  let node: Pending = root;
  try {
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (next === LEAVE) {
        open.pop();
        continue;
      }
      node = next;
      const v = node.value as object;
      if (open.includes(v)) failAt(path, node, 'contains a cycle');
      const depth = node.depth + 1;
      if (depth > MAX_JSON_DEPTH) invalid(`${path} is nested more than ${MAX_JSON_DEPTH} deep`, path);
      open.push(v);
      stack.push(LEAVE);
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) {
          const desc = Object.getOwnPropertyDescriptor(v, i);
          if (desc === undefined || !('value' in desc)) {
            const child = { value: undefined, parent: node, key: i, depth };
            failAt(
              path,
              child,
              desc === undefined ? 'is a hole in a sparse array' : 'is an accessor property',
            );
          }
          const item: unknown = desc.value;
          if (typeof item === 'object' && item !== null)
            stack.push({ value: item, parent: node, key: i, depth });
          else checkPrimitive(item, path, node, i);
        }
        continue;
      }
      if (!isPlainObject(v)) {
        const name = v.constructor?.name ?? 'unknown';
        failAt(path, node, `is an instance of ${name}; only plain objects survive JSON unchanged`);
      }
      if (Object.getOwnPropertySymbols(v).length > 0) failAt(path, node, 'has symbol keys');
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const desc = Object.getOwnPropertyDescriptor(v, key);
        if (!key.isWellFormed() || (desc !== undefined && !('value' in desc))) {
          const child = { value: undefined, parent: node, key, depth };
          failAt(
            path,
            child,
            key.isWellFormed()
              ? 'is an accessor property'
              : 'has a key with a lone surrogate, which UTF-8 cannot encode',
          );
        }
        const item: unknown = desc?.value;
        if (typeof item === 'object' && item !== null) stack.push({ value: item, parent: node, key, depth });
        else checkPrimitive(item, path, node, key);
      }
    }
  } catch (err) {
    if (isEventStoreError(err)) throw err;
    const name = err instanceof Error ? err.name : typeof err;
    failAt(path, node, `could not be read: it threw ${name} (see cause)`, err);
  }
}

function failAt(root: string, at: Pending, message: string, cause?: unknown): never {
  const where = pathOf(root, at);
  return invalid(`${where} ${message}`, where, cause);
}

/**
 * Checks a value that is not an object: most values are, so this allocates nothing unless it fails. `key` is its
 * key in `parent`; without a key, `parent` is the value's own place.
 */
function checkPrimitive(v: unknown, root: string, parent: Pending, key?: string | number): void {
  let problem: string;
  switch (typeof v) {
    case 'string':
      if (v.isWellFormed()) return;
      problem = 'has a string with a lone surrogate, which UTF-8 cannot encode';
      break;
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(v)) return;
      problem = `is ${v}, which JSON cannot represent`;
      break;
    case 'object':
      if (v === null) return;
      problem = 'is an object where a primitive was expected';
      break;
    default:
      problem = `is ${describe(v)}, which JSON cannot represent`;
  }
  const at = key === undefined ? parent : { value: v, parent, key, depth: parent.depth + 1 };
  failAt(root, at, problem);
}
