/**
 * The EventStoreDB emulator in a process of its own (run with `node --import tsx`), so that a test can freeze it
 * with SIGSTOP like a real server. Prints `{"url": …}` on one line once it listens; SIGTERM stops it.
 */
import { startEsdbEmulator } from '../esdb-emulator/index.js';

const emulator = await startEsdbEmulator();
process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);
process.on('SIGTERM', () => {
  void emulator.stop().then(() => process.exit(0));
});
