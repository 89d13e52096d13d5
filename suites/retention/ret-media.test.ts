import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import type { ChatClient, FileEvent } from '../../harness/drivers/driver.ts';
import type { OrganisationDescription } from '../../harness/lab/types.ts';
import { searchStore } from '../../harness/probes/server-store.ts';
import { operatorDeletesMedia, operatorPurgesRemoteMedia, type OperatorAnswer } from '../../harness/provisioning/operator.ts';
import { expectMember } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable } from '../../harness/verdict/failure.ts';

/**
 * RET-MEDIA: alice (org-a) shares a file, bob (org-b) downloads it (org-b keeps a cached copy of org-a's file). org-a's
 * operator deletes the file and org-b's operator purges its cache of other servers' files; then neither server gives the
 * file to anyone, and the file's bytes are on neither server's disk (byte search of the server's store, logs excluded).
 */

const fileClause = {
  matrix: 'Requirement RET-MEDIA: "Files follow retention: local media can be deleted and remote-media caches purge". Client-Server API '
    + '§"Content repository" (GET /_matrix/client/v1/media/download/{serverName}/{mediaId}: 404 M_NOT_FOUND for media the server does '
    + 'not have); Synapse Admin API "Media": DELETE /_synapse/admin/v1/media/{server_name}/{media_id}, POST /_synapse/admin/v1/purge_media_cache.',
  xmpp: 'Requirement RET-MEDIA; XEP-0363 (HTTP File Upload) §1 leaves the files\' lifetime to the service (Prosody http_upload_expire_after, '
    + 'ejabberd mod_http_upload_quota max_days).',
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

describe('RET-MEDIA: files can be deleted at the hosting server and purged from the other server\'s cache', () => {
  scenario('alice (org-a) shares a file that bob (org-b) downloads; after org-a\'s operator deletes it and org-b\'s operator purges its remote-media cache, neither server gives it and its bytes are on neither disk', {
    requirements: ['RET-MEDIA'],
    clause: fileClause,
  }, async (s) => {
    if (s.protocol === 'xmpp') throw new NotTestable('XEP-0363 upload expiry (Prosody http_upload_expire_after, ejabberd mod_http_upload_quota max_days) is not a lab setting yet, and XMPP peers keep no cache of another server\'s uploads');
    const [orgA, orgB] = [s.lab.organisations['org-a'], s.lab.organisations['org-b']];
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-retention-media');
    const bobRoom = await bob.joinRoom(ref);
    await expectMember(alice, aliceRoom, bob);

    // A marker the byte search can find, padded with random bytes so no other file holds the same content.
    const marker = `fedconf-media-${randomBytes(8).toString('hex')}`;
    const data = Buffer.concat([Buffer.from(marker), randomBytes(4096), Buffer.from(marker)]);
    await alice.shareFile(aliceRoom, { name: 'gallring.bin', mimeType: 'application/octet-stream', data });
    const file = await bob.waitFor((e) => e.kind === 'file' && e.conversation === bobRoom.id && e.sender === alice.account.address,
      { description: `${bob.account.address} receives alice's file message` }) as FileEvent;
    const viaB = await stillServed(bob, file, data);
    if (viaB !== 'gives the file') throw new ConformanceFailure(`bob could not download alice's file through org-b before any deletion (${viaB ?? 'refused'})`);
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
});
