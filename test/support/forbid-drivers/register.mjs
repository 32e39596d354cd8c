// Loaded with `node --import` by the CLI tests: makes importing any backend driver fail, so a test proves that a
// command line (--help, a usage error) is answered without loading one.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
