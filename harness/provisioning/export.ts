import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { installDir } from '../config/paths.ts';
import { luaString } from '../lab/native/prosody.ts';
import type { OrganisationDescription } from '../lab/types.ts';
import { NotTestable, ProductLacks } from '../verdict/failure.ts';
import { storeFiles } from '../probes/server-store.ts';
import { runWithInput, type CommandResult } from './command.ts';
import { exportPiefxisWithEjabberdctl } from './ejabberdctl.ts';
import { readXep0227, xep0227Format } from './xep0227.ts';

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
  /** What the export holds for the user besides messages, where the format has per-user sections (XEP-0227). */
  userHolds?: string;
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
      return exportWithProsodyMigrator(org, address);
    case 'ejabberd':
      return exportWithEjabberdPiefxis(org, address);
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
  const work = mkdtempSync(join(tmpdir(), 'fedconf-export-'));
  const out = join(work, 'export');
  const args = ['-m', 'synapse.app.admin_cmd', '-c', config, 'export-data', address, '--output-directory', out];
  const command = `python ${args.join(' ')}`;
  const files: string[] = [];
  const messages: ExportedMessage[] = [];
  try {
    const result = await runTool(python, args, org.storeDir!);
    if (result.code !== 0) throw new Error(`${command} failed (exit ${result.code}): ${result.output.slice(-2000)}`);
    files.push(...listFiles(out));
    for (const file of files.filter((f) => /^rooms\/[^/]+\/events$/.test(f))) {
      for (const event of await concatenatedJson(python, join(out, file), org.storeDir!)) {
        if (event.type === 'm.room.message' && typeof event.content?.body === 'string') {
          messages.push({ sender: String(event.sender), timestamp: Number(event.origin_server_ts), body: event.content.body });
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { command, format: 'JSON: rooms/<room_id>/events holds the room\'s Matrix events (PDU JSON: sender, origin_server_ts, content) written one after another with no separator (concatenated JSON, not JSON Lines)', files, messages };
}

/**
 * Prosody: `prosody-migrator` copies the host's `accounts` and `archive` stores (the user's XEP-0313 archive) from its
 * internal storage to the `xep0227` store (mod_storage_xep0227: one <user>@<host>.xml per account; the archive goes in
 * <archive xmlns="urn:xmpp:pie:0#mam"> as XEP-0313 results, and only into a file the accounts store has begun). The
 * migrator writes XEP-0227 files into its compiled-in data folder, /var/lib/prosody, and runs as user prosody: it runs
 * in a private mount namespace where the export folder is bound onto that path, so the machine's own Prosody data is
 * never touched.
 */
async function exportWithProsodyMigrator(org: OrganisationDescription, address: string): Promise<HistoryExport> {
  const method = org.provisioning;
  if (method.method !== 'prosodyctl' || method.exec) throw new NotTestable(`${org.name}: Prosody's files are not on this machine (native lab only)`);
  const dataPath = /^data_path\s*=\s*"([^"]+)"/m.exec(readFileSync(method.configFile, 'utf8'))?.[1];
  if (!dataPath) throw new Error(`${method.configFile} sets no data_path: the migrator would not know where Prosody's stores are`);
  const compiledIn = '/var/lib/prosody';
  if (!existsSync(compiledIn)) throw new NotTestable(`${compiledIn} (prosody-migrator's data folder) does not exist: is Debian's prosody package installed?`);
  const { work, out } = exportFolder('prosody');
  try {
    const config = join(work, 'migrator.cfg.lua');
    writeFileSync(config, [
      `input { type = "internal"; path = ${luaString(dataPath)}; hosts = { [${luaString(org.domain)}] = { "accounts"; "archive-archive" } } }`,
      'output { type = "xep0227" }', '',
    ].join('\n'), { mode: 0o644 });
    const args = ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      `mount --bind "$1" ${compiledIn} && exec prosody-migrator --config "$2" input output`, 'sh', out, config];
    const result = await runTool('unshare', args, work);
    const command = `prosody-migrator --config migrator.cfg.lua input output  # input: internal ${dataPath}, host ${org.domain}, stores accounts + archive; output: xep0227`;
    if (result.code !== 0) throw new Error(`${command} failed (exit ${result.code}): ${result.output.slice(-2000)}`);
    const files = listFiles(out);
    const own = files.filter((f) => f === `${address}.xml`).map((f) => join(out, f));
    return { command, format: xep0227Format, files, ...readXep0227(own, address) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** ejabberd: `ejabberdctl export_piefxis DIR` (ejabberd_piefxis), every file it writes is read. */
async function exportWithEjabberdPiefxis(org: OrganisationDescription, address: string): Promise<HistoryExport> {
  const method = org.provisioning;
  if (method.method !== 'ejabberdctl') throw new NotTestable(`${org.name}: the harness has no ejabberdctl access to this server`);
  const { work, out } = exportFolder(method.user);
  try {
    const answer = await exportPiefxisWithEjabberdctl(org, method, out);
    const files = listFiles(out);
    const { messages, userHolds } = readXep0227(files.filter((f) => f.endsWith('.xml')).map((f) => join(out, f)), address);
    return {
      command: `ejabberdctl export_piefxis ${out}${answer ? ` → ${answer}` : ''}`, format: xep0227Format, files, userHolds,
      // The whole server's export: the messages are those of any account, kept if `address` sent or received them.
      messages: messages.filter((m) => [m.sender, m.recipient].some((jid) => jid.split('/')[0] === address)),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A folder the tool's own user may write into, under a work folder it may only pass through. */
function exportFolder(owner: string): { work: string; out: string } {
  const work = mkdtempSync(join(tmpdir(), 'fedconf-export-'));
  chmodSync(work, 0o711);
  const out = join(work, 'export');
  mkdirSync(out, { mode: 0o700 });
  const id = (flag: string) => Number(execFileSync('id', [flag, owner], { encoding: 'utf8' }).trim());
  chownSync(out, id('-u'), id('-g'));
  return { work, out };
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

/** Every file under `dir`, relative to it. */
function listFiles(dir: string): string[] {
  return storeFiles(dir, { logs: true }).map((file) => relative(dir, file));
}

/** An export tool run where its files are (Synapse's config has relative paths), Python's output unbuffered; output is stdout+stderr. */
function runTool(command: string, args: string[], cwd: string): Promise<CommandResult> {
  return runWithInput(command, args, '', timeoutMs, { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
}
