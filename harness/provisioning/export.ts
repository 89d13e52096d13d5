import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { installDir } from '../config/paths.ts';
import type { OrganisationDescription } from '../lab/types.ts';
import { NotTestable, ProductLacks } from '../verdict/failure.ts';

/**
 * RET-EXPORT: the operator exports a user's history with the product's own tool, and the harness reads the export
 * back in its documented open format. Only what the tool wrote is read: the harness never fills gaps from the API.
 */

/** One message as the export gives it. */
export interface ExportedMessage {
  sender: string;
  /** ms since the epoch, as the export states it. */
  timestamp: number;
  body: string;
}

export interface HistoryExport {
  /** The command the operator ran (no secrets: these tools take none). */
  command: string;
  /** The open format the export is in, as the product documents it. */
  format: string;
  /** Files written, relative to the export folder. */
  files: string[];
  messages: ExportedMessage[];
}

const timeoutMs = 120_000;

/** Exports `address`'s history on `org` (native lab: the server's files are at hand, as they are to its operator). */
export async function exportUserHistory(org: OrganisationDescription, address: string): Promise<HistoryExport> {
  switch (org.implementation) {
    case 'synapse':
      return exportWithSynapseAdminCmd(org, address);
    case 'dendrite':
      throw new ProductLacks('Dendrite has no history export: no admin command or admin API writes a user\'s or a room\'s events out (its admin API has no export endpoint)');
    case 'prosody':
      throw new NotTestable('not run yet: Prosody 0.12 can write its stores, message archives included, as XEP-0227 with prosody-migrator '
        + '(output type xep0227, mod_storage_xep0227), but the harness does not drive it yet, and the lab\'s Prosody keeps archives only under a retention setting');
    case 'ejabberd':
      throw new NotTestable('not run yet: `ejabberdctl export_piefxis` writes XEP-0227 without message archives (ejabberd 23.01\'s ejabberd_piefxis handles '
        + 'rosters, vCards, privacy lists, private storage and offline messages, not mod_mam), and the lab\'s ejabberd runs without mod_mam; the harness does not drive an ejabberd export yet');
    default:
      throw new NotTestable(`the harness has no export action for ${org.implementation} yet`);
  }
}

/**
 * Synapse: `python -m synapse.app.admin_cmd -c homeserver.yaml export-data <user> --output-directory <dir>` (Synapse
 * docs, "Admin Command: export-data"): the folder holds rooms/<room_id>/events, the events' PDU JSON back to back.
 */
async function exportWithSynapseAdminCmd(org: OrganisationDescription, address: string): Promise<HistoryExport> {
  const config = org.storeDir ? join(org.storeDir, 'homeserver.yaml') : undefined;
  const python = join(installDir, `synapse-${org.version.split(' ')[0]}`, 'bin', 'python');
  if (!config || !existsSync(config) || !existsSync(python)) throw new NotTestable(`${org.name}: the Synapse install and configuration are not at hand (native lab only)`);
  const out = join(mkdtempSync(join(tmpdir(), 'fedconf-export-')), 'export');
  const args = ['-m', 'synapse.app.admin_cmd', '-c', config, 'export-data', address, '--output-directory', out];
  const result = await runTool(python, args, org.storeDir!);
  const command = `python ${args.join(' ')}`;
  if (result.code !== 0) throw new Error(`${command} failed (exit ${result.code}): ${result.output.slice(-2000)}`);
  const files = listFiles(out);
  const messages: ExportedMessage[] = [];
  for (const file of files.filter((f) => /^rooms\/[^/]+\/events$/.test(f))) {
    for (const event of await concatenatedJson(python, join(out, file), org.storeDir!)) {
      if (event.type === 'm.room.message' && typeof event.content?.body === 'string') {
        messages.push({ sender: String(event.sender), timestamp: Number(event.origin_server_ts), body: event.content.body });
      }
    }
  }
  rmSync(dirname(out), { recursive: true, force: true });
  return { command, format: 'JSON: rooms/<room_id>/events holds the room\'s Matrix events (PDU JSON: sender, origin_server_ts, content) written one after another with no separator (concatenated JSON, not JSON Lines)', files, messages };
}

interface ExportedEvent { type?: string; sender?: string; origin_server_ts?: number; content?: { body?: unknown } }

/** Back-to-back JSON objects, split by Python's own JSON decoder (raw_decode), which Synapse's venv has anyway. */
async function concatenatedJson(python: string, file: string, cwd: string): Promise<ExportedEvent[]> {
  const script = 'import json, sys\ntext = open(sys.argv[1], encoding="utf-8").read()\ndecoder, at, out = json.JSONDecoder(), 0, []\n'
    + 'while at < len(text):\n    value, at = decoder.raw_decode(text, at)\n    out.append(value)\n    while at < len(text) and text[at].isspace(): at += 1\n'
    + 'print(json.dumps(out))';
  const result = await runTool(python, ['-c', script, file], cwd);
  if (result.code !== 0) throw new Error(`reading ${file} as concatenated JSON failed: ${result.output.slice(-1000)}`);
  return JSON.parse(result.output) as ExportedEvent[];
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

function runTool(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}
