/**
 * Cleanups that must run however the process ends: normal exit, error, Ctrl-C or SIGTERM.
 * The lab registers its `down` here, so no server outlives the command that started it.
 */
type Cleanup = () => Promise<void>;
const cleanups = new Set<Cleanup>();
let installed = false;
let shuttingDown = false;

export function onShutdown(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export async function runCleanups(): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    await cleanup().catch((error: unknown) => console.error(`cleanup failed: ${(error as Error).message}`));
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (shuttingDown) return;
      shuttingDown = true;
      console.error(`\n${signal}: stopping the lab before exiting…`);
      // vitest's own signal handler calls process.exit() a millisecond later, which would cut the
      // lab's shutdown short and leave servers running; hold every exit until the cleanups are done.
      const exit = process.exit.bind(process);
      process.exit = (() => undefined) as typeof process.exit;
      void runCleanups().finally(() => exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
