import { createHash, randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import type { FileEvent } from '../../harness/drivers/driver.ts';
import { expectMember } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * Files and profiles across federation. The receiving side fetches the file the way its own client would
 * (Matrix: through bob's server, which fetches it from alice's; XMPP: the HTTPS URL alice's server issued)
 * and compares the bytes' SHA-256; the profile is looked up by address from bob's side.
 */

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('FED-FILE: a file posted at org-a downloads intact at org-b', () => {
  scenario('alice at org-a shares a 300 KB file with a Swedish name in a room; bob at org-b downloads it and gets the same bytes (SHA-256)', {
    requirements: ['FED-FILE'],
    interop: true,
    clause: {
      matrix: 'Client-Server API "Content repository": POST /_matrix/media/v3/upload returns an mxc:// URI that an m.file message carries; a client downloads with GET /_matrix/client/v1/media/download/{serverName}/{mediaId} (v1.11+; /_matrix/media/v3/download before), and "the homeserver will fetch the content from the remote server" (Server-Server API "Content repository": GET /_matrix/federation/v1/media/download/{mediaId}).',
      xmpp: 'XEP-0363 (HTTP File Upload) §2 "Discovering Support" (disco#info feature urn:xmpp:http:upload:0), §4 "Requesting a slot" (a PUT and a GET URL), §5 "Upload" (HTTP PUT, 201 Created); §3: the GET URL is shared, e.g. with XEP-0066 out-of-band data, and "the file can be retrieved by anyone who knows the GET URL" over HTTPS.',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-file');
    const bobRoom = await bob.joinRoom(ref);
    await expectMember(alice, aliceRoom, bob);

    const file = { name: 'Protokoll styrelsemöte Åre – bilaga ä.bin', mimeType: 'application/octet-stream', data: new Uint8Array(randomBytes(300 * 1024)) };
    s.note(`alice shares ${JSON.stringify(file.name)}: ${file.data.length} bytes, SHA-256 ${sha256(file.data)}`);
    await alice.shareFile(aliceRoom, file);

    const shared = await bob.waitFor((e) => e.kind === 'file' && e.conversation === bobRoom.id && e.sender === alice.account.address,
      { description: `a file message from ${alice.account.address}` }) as FileEvent;
    s.note(`bob sees the file as ${JSON.stringify(shared.name)} at ${shared.url}`);
    // The requirement is the bytes; a server that rewrites the name (ejabberd replaces spaces and dashes) is noted, not failed.
    if (shared.name !== file.name) s.note(`the file name arrived changed: ${JSON.stringify(file.name)} → ${JSON.stringify(shared.name)}`);
    const received = await bob.downloadFile(shared);
    s.note(`bob downloaded ${received.length} bytes, SHA-256 ${sha256(received)}`);
    if (received.length !== file.data.length || sha256(received) !== sha256(file.data)) {
      throw new ConformanceFailure(`bob at org-b downloaded ${received.length} bytes with SHA-256 ${sha256(received)}; `
        + `alice at org-a shared ${file.data.length} bytes with SHA-256 ${sha256(file.data)}`);
    }
  });
});

describe('FED-DIRECTORY: a remote user\'s profile can be looked up by address', () => {
  scenario('alice at org-a sets a display name with å, ä and ö; bob at org-b looks up her profile by her address and sees it', {
    requirements: ['FED-DIRECTORY'],
    interop: true,
    clause: {
      matrix: 'Client-Server API "Profiles": PUT /_matrix/client/v3/profile/{userId}/displayname sets it; GET /_matrix/client/v3/profile/{userId} returns "displayname"; for a user on another server the homeserver asks that server (Server-Server API "Querying for information", GET /_matrix/federation/v1/query/profile).',
      xmpp: 'XEP-0054 (vcard-temp) §3.2 "Publishing One\'s Own vCard" (IQ set) and §3.3 "Viewing Another User\'s vCard": an IQ get with <vCard xmlns=\'vcard-temp\'/> to the user\'s bare JID, answered by the user\'s server with the stored vCard (FN).',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const displayName = 'Åsa Öberg-Ängström';

    await alice.setDisplayName(displayName);
    const profile = await bob.lookupProfile(alice.account.address);
    s.note(`bob looked up ${alice.account.address}: ${JSON.stringify(profile)}`);
    if (profile.displayName !== displayName) {
      throw new ConformanceFailure(`bob at org-b looked up ${alice.account.address} and got the display name ${JSON.stringify(profile.displayName ?? null)}, `
        + `not ${JSON.stringify(displayName)}`);
    }
  });
});
