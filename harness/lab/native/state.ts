import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { labTargetFile, stateFile } from '../../config/paths.ts';
import type { LabProcess } from '../processes.ts';
import type { LabDescription } from '../types.ts';

/**
 * What the native lab has started, on disk, written after every process start, so that
 * `fedconf lab down` (or the next run) can stop exactly those processes even after a crash.
 */
export interface LabState {
  /** 'detached': left running by `fedconf lab up`; 'attached': owned by a running `fedconf run`. */
  mode: 'detached' | 'attached';
  ownerPid: number;
  startedAt: string;
  processes: LabProcess[];
  description?: LabDescription;
}

export function readState(): LabState | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as LabState;
}

export function writeState(state: LabState): void {
  mkdirSync(dirname(stateFile), { recursive: true });
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, stateFile);
}

export function clearState(): void {
  rmSync(stateFile, { force: true });
  rmSync(labTargetFile, { force: true });
}
