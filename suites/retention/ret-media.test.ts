import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import type { ChatClient, FileEvent } from '../../harness/drivers/driver.ts';
import type { OrganisationDescription } from '../../harness/lab/types.ts';
import { searchStore } from '../../harness/probes/server-store.ts';
import { operatorDeletesMedia, operatorPurgesRemoteMedia, type OperatorAnswer } from '../../harness/provisioning/operator.ts';
import { expectMember } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable, ifLacking } from '../../harness/verdict/failure.ts';
import { reconfiguredForThisFile } from './reconfigure.ts';

const reconfigure = reconfiguredForThisFile();

/**
 * RET-MEDIA: alice (org-a) shares a file, bob (org-b) downloads it. Matrix: org-b keeps a cached copy of org-a's file;
 * org-a's operator deletes the file and org-b's operator purges its cache of other servers' files; then neither server
 * gives the file to anyone, and the file's bytes are on neither server's disk (byte search of the server's store, logs
 * excluded). XMPP: the upload service's file lifetime is what deletes files (there is no operator call for one
 * upload, and XMPP peers keep no cache: bob downloads from org-a's service), so org-a runs with a lifetime of a few
 * seconds and the file must be gone from both downloads and org-a's disk soon after it ends; org-b must hold no copy.
 */

/** The lab's upload lifetime: long enough to share and download the file, short enough for CI. */
const fileLifetimeSeconds = 20;
/** How long past the lifetime's end an expired file may still be around (a clean-up job's interval). */
const graceMs = 30_000;
const pollEveryMs = 1_000;

const requirementText = 'Requirement RET-MEDIA: "Files follow retention: local media can be deleted and remote-media caches purge".';
const fileClause = {
  matrix: `${requirementText} Client-Server API `
    + '§"Content repository" (GET /_matrix/client/v1/media/download/{serverName}/{mediaId}: 404 M_NOT_FOUND for media the server does '
    + 'not have); Synapse Admin API "Media": DELETE /_synapse/admin/v1/media/{server_name}/{media_id}, POST /_synapse/admin/v1/purge_media_cache.',
  xmpp: `${requirementText} XEP-0363 (HTTP File Upload) §"Implementation Notes": "It is RECOMMENDED that the service stores the `
    + 'files for as long as possible which is of course limited by storage capacity" — the lifetime is the service\'s policy '
    + '(Prosody mod_http_file_share http_file_share_expires_after, seconds, default 1 week; ejabberd mod_http_upload_quota '
    + 'max_days); §"Security Considerations": "Server operators SHOULD consider the responsibility that comes with storing user data".',
};

/** Whether `client` can still download the file (a refusal from its server is the answer "gone"). */
async function stillServed(client: ChatClient, file: FileEvent, data: Uint8Array): Promise<string | undefined> {
  try {
    const got = await client.downloadFile(file);
    return Buffer.from(got).equals(Buffer.from(data)) ? 'gives the file' : `gives ${got.length} other bytes`;
  } catch (error) {
    if (error instanceof ConformanceFailure) return undefined;
    throw error;
  }
}

function onDisk(org: OrganisationDescription, marker: string): string[] {
  if (!org.storeDir) throw new NotTestable(`${org.name}: the server's store is not at hand (native lab only)`);
  return searchStore(org.storeDir, [marker]).map((hit) => hit.file);
}

interface SharedFile {
  alice: ChatClient;
  bob: ChatClient;
  file: FileEvent;
  data: Buffer;
  /** A marker the byte search can find in the file's bytes. */
  marker: string;
  /** Just before alice asked for the upload: no lifetime can have started earlier. */
  sharedAt: number;
}

/** alice (org-a) shares a file in her room, which bob (org-b) has joined; bob receives it and downloads it. */
async function aliceSharesAFileWithBob(s: Session): Promise<SharedFile> {
  const alice = await s.user('org-a', 'alice');
  const bob = await s.user('org-b', 'bob');
  const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-retention-media');
  const bobRoom = await bob.joinRoom(ref);
  await expectMember(alice, aliceRoom, bob);

  // The marker is padded with random bytes so no other file holds the same content.
  const marker = `fedconf-media-${randomBytes(8).toString('hex')}`;
  const data = Buffer.concat([Buffer.from(marker), randomBytes(4096), Buffer.from(marker)]);
  const sharedAt = Date.now();
  await alice.shareFile(aliceRoom, { name: 'gallring.bin', mimeType: 'application/octet-stream', data });
  const file = await bob.waitFor((e) => e.kind === 'file' && e.conversation === bobRoom.id && e.sender === alice.account.address,
    { description: `${bob.account.address} receives alice's file message` }) as FileEvent;
  const viaB = await stillServed(bob, file, data);
  if (viaB !== 'gives the file') throw new ConformanceFailure(`bob could not download alice's file before any deletion (${viaB ?? 'refused'})`);
  return { alice, bob, file, data, marker, sharedAt };
}

describe('RET-MEDIA: files follow retention: deleted at the hosting server (by its operator or their lifetime), purged from the other server\'s cache', () => {
  scenario('alice (org-a) shares a file that bob (org-b) downloads; after org-a\'s operator deletes it and org-b\'s operator purges its remote-media cache, neither server gives it and its bytes are on neither disk', {
    requirements: ['RET-MEDIA'],
    clause: fileClause,
  }, async (s) => {
    if (s.protocol === 'xmpp') throw new NotTestable('XMPP servers have no operator call that deletes one upload, and XMPP peers keep no cache of another server\'s uploads: the upload lifetime scenario decides RET-MEDIA for XMPP');
    const [orgA, orgB] = [s.lab.organisations['org-a'], s.lab.organisations['org-b']];
    const { alice, bob, file, data, marker } = await aliceSharesAFileWithBob(s);
    const before = { a: onDisk(orgA, marker), b: onDisk(orgB, marker) };
    s.note(`before deletion: ${file.url} on org-a's disk in ${before.a.join(', ') || 'no file'}; org-b's cached copy in ${before.b.join(', ') || 'no file'}`);

    const answers: OperatorAnswer[] = [];
    const deleted = await operatorDeletesMedia(orgA, file.url);
    const purged = await operatorPurgesRemoteMedia(orgB, Date.now() + 1_000);
    if (!deleted || !purged) throw new NotTestable('the declaration gives the harness no admin access to delete media');
    answers.push(deleted, purged);
    for (const a of answers) s.note(`operator: ${a.command} → HTTP ${a.status} ${a.answer}`);
    await sleep(1_000);

    const after = { a: onDisk(orgA, marker), b: onDisk(orgB, marker) };
    const served = { a: await stillServed(alice, file, data), b: await stillServed(bob, file, data) };
    s.note(`after: org-a ${served.a ?? 'refuses the download'}, file bytes on its disk in ${after.a.join(', ') || 'no file'}; `
      + `org-b ${served.b ?? 'refuses the download'}, file bytes on its disk in ${after.b.join(', ') || 'no file'}`);
    const problems: string[] = [];
    if (served.a || after.a.length) problems.push(`org-a's operator could not delete its own file (${deleted.command} → HTTP ${deleted.status}): ${served.a ? `org-a still ${served.a}` : ''}${after.a.length ? ` bytes still in ${after.a.join(', ')}` : ''}`);
    if (after.b.length) problems.push(`org-b's cached copy of org-a's file was not purged (${purged.command} → HTTP ${purged.status}): bytes still in ${after.b.join(', ')}`);
    if (served.b) problems.push(`org-b still ${served.b} to bob`);
    if (problems.length) throw new ConformanceFailure(problems.join('; '));
  });

  scenario(`org-a's upload service keeps files ${fileLifetimeSeconds} s; alice's file, downloaded by bob (org-b), is gone from both downloads and from org-a's disk within ${graceMs / 1000} s after that, and org-b never holds a copy`, {
    requirements: ['RET-MEDIA'],
    clause: fileClause,
  }, async (s) => {
    if (s.protocol === 'matrix') throw new NotTestable('Matrix media is deleted by the operator and purged from the peer\'s cache (the scenario above); this lab sets no Matrix media lifetime');
    const [orgA, orgB] = [s.lab.organisations['org-a'], s.lab.organisations['org-b']];
    await ifLacking(() => reconfigure(s, 'org-a', { fileLifetimeSeconds }),
      (why) => new ConformanceFailure(`org-a's upload service cannot be given a file lifetime: ${why}`));
    const { alice, bob, file, data, marker, sharedAt } = await aliceSharesAFileWithBob(s);
    const onA = onDisk(orgA, marker);
    if (onA.length === 0) throw new Error(`the byte search finds alice's file nowhere in org-a's store (${orgA.storeDir}) right after the upload: it cannot tell when it goes`);
    const onB = onDisk(orgB, marker);
    s.note(`org-a: upload lifetime ${fileLifetimeSeconds} s (lab setting fileLifetimeSeconds); ${file.url} uploaded at ${new Date(sharedAt).toISOString()}, `
      + `downloaded by bob, bytes on org-a's disk in ${onA.join(', ')}; org-b's disk: ${onB.length ? `a copy in ${onB.join(', ')}` : 'no copy (bob downloads from org-a\'s upload service)'}`);

    // From the lifetime's end, ask once a second until the file is gone everywhere or the grace period is over.
    const expiresAt = sharedAt + fileLifetimeSeconds * 1000;
    const deadline = expiresAt + graceMs;
    const paths = { 'alice\'s download': () => stillServed(alice, file, data), 'bob\'s download': () => stillServed(bob, file, data),
      'org-a\'s disk': async () => { const hits = onDisk(orgA, marker); return hits.length ? `holds it in ${hits.join(', ')}` : undefined; } };
    const goneAfterMs: Record<string, number | undefined> = {};
    const lastSeen: Record<string, string | undefined> = {};
    await sleep(Math.max(0, expiresAt - Date.now()));
    for (;;) {
      for (const [path, check] of Object.entries(paths)) {
        if (goneAfterMs[path] !== undefined) continue;
        lastSeen[path] = await check();
        if (lastSeen[path] === undefined) goneAfterMs[path] = Date.now() - expiresAt;
      }
      if (Object.keys(paths).every((p) => goneAfterMs[p] !== undefined) || Date.now() >= deadline) break;
      await sleep(pollEveryMs);
    }
    const stoppedAfterMs = Date.now() - expiresAt;
    const leftOnB = onDisk(orgB, marker);
    s.note(`after the lifetime: ${Object.keys(paths).map((p) => goneAfterMs[p] !== undefined ? `${p} gone ${goneAfterMs[p]} ms after it ended`
      : `${p} still ${lastSeen[p]} ${stoppedAfterMs} ms after it ended`).join('; ')}; org-b's disk: ${leftOnB.length ? `a copy in ${leftOnB.join(', ')}` : 'no copy'}`);

    const kept = Object.keys(paths).filter((p) => goneAfterMs[p] === undefined);
    const problems: string[] = [];
    if (kept.length) problems.push(`alice's file outlives org-a's ${fileLifetimeSeconds} s upload lifetime by ${stoppedAfterMs} ms: ${kept.map((p) => `${p} still ${lastSeen[p]}`).join('; ')}`);
    if (leftOnB.length) problems.push(`org-b holds a copy of org-a's file in ${leftOnB.join(', ')}`);
    if (problems.length) throw new ConformanceFailure(problems.join('; '));
  });
});
