import { closeSync, openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { isAlive, logTail, type LabProcess } from '../processes.ts';
import { portAccepts } from '../wait.ts';

async function answers200(url: string): Promise<boolean> {
  try {
    const response = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

/**
 * Waits until an HTTP server answers `url` with 200 and then accepts TCP on address:port; fails early
 * with the log's tail when the process dies, and names what it was still waiting for on timeout.
 */
export async function waitHttpAndPort(server: string, proc: LabProcess, url: string, address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let httpUp = false;
  let portOpen = false;
  while (!(httpUp && portOpen)) {
    if (!isAlive(proc.pid)) {
      throw new Error(`${server} (${proc.name}) exited during start-up; log ${proc.logFile}:\n${logTail(proc, 25)}`);
    }
    if (Date.now() > deadline) {
      const waiting = [httpUp ? '' : `${url} → 200`, portOpen ? '' : `${address}:${port} accepting`].filter(Boolean).join(' and ');
      throw new Error(`${server} (${proc.name}) not ready after ${timeoutMs} ms (waiting for ${waiting}); log ${proc.logFile}:\n${logTail(proc, 25)}`);
    }
    if (!httpUp) httpUp = await answers200(url);
    if (httpUp && !portOpen) portOpen = await portAccepts(address, port);
    if (!(httpUp && portOpen)) await sleep(100);
  }
}

/**
 * Waits until address accepts TCP on every one of ports; fails early when the process dies and names the ports still
 * closed on timeout. The caller adds the log's tail to its own error.
 */
export async function waitForPorts(server: string, proc: LabProcess, address: string, ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(proc.pid)) throw new Error(`the ${server} process (pid ${proc.pid}) exited during start-up`);
    const open = await Promise.all(ports.map((port) => portAccepts(address, port)));
    if (open.every(Boolean)) return;
    if (Date.now() > deadline) {
      const closed = ports.filter((_, i) => !open[i]).map((p) => `${address}:${p}`);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${closed.join(', ')} to accept`);
    }
    await sleep(50);
  }
}

/** Runs an install step to completion with its output appended to logFile; throws with the log's tail. */
export function runLogged(command: string, args: string[], logFile: string, options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = openSync(logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', out, out], env: options.env ?? process.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
    closeSync(out);
    child.once('error', (error) => reject(new Error(`${command} ${args.join(' ')}: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}); log ${logFile}:\n${logTail({ logFile }, 20)}`));
    });
  });
}
