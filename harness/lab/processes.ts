import { spawn } from 'node:child_process';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** One server process the lab started. `marker` is a path that must appear in its command line. */
export interface LabProcess {
  name: string;
  pid: number;
  marker: string;
  logFile: string;
}

export interface SpawnRequest {
  name: string;
  command: string;
  args: string[];
  /** A path unique to this lab (its config file) that appears in the command line; see isOurs. */
  marker: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts a server detached in its own process group, so a Ctrl-C in the terminal reaches the harness
 * (which then stops the lab in order) rather than killing servers half-way; output goes to logFile.
 */
export function spawnServer(request: SpawnRequest): LabProcess {
  const out = openSync(request.logFile, 'a');
  const child = spawn(request.command, request.args, {
    cwd: request.cwd,
    env: { ...process.env, ...request.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${request.name}: ${request.command} did not spawn`);
  child.unref();
  return { name: request.name, pid: child.pid, marker: request.marker, logFile: request.logFile };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); treat it as gone.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** True when pid is still the process we started (PIDs are reused; never signal someone else's). */
export function isOurs(proc: LabProcess): boolean {
  if (!isAlive(proc.pid)) return false;
  try {
    return readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').includes(proc.marker);
  } catch {
    return false;
  }
}

/** SIGTERM, wait, then SIGKILL. Resolves once the process is gone. */
export async function stopProcess(proc: LabProcess, graceMs = 10_000): Promise<void> {
  if (!isOurs(proc)) return;
  process.kill(proc.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(proc.pid)) return;
    await sleep(50);
  }
  if (isOurs(proc)) process.kill(proc.pid, 'SIGKILL');
  while (isAlive(proc.pid)) await sleep(20);
}

/** The tail of a server's log, for error messages when it fails to start. */
export function logTail(proc: Pick<LabProcess, 'logFile'>, lines = 15): string {
  try {
    return readFileSync(proc.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
