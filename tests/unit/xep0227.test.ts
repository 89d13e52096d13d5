import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readXep0227 } from '../../harness/provisioning/xep0227.ts';

/** RET-EXPORT reads what the XMPP products' export tools write: messages with sender, time and body, and nothing else. */

const dir = mkdtempSync(join(tmpdir(), 'fedconf-xep0227-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, xml: string): string {
  const path = join(dir, name);
  writeFileSync(path, xml);
  return path;
}

// As prosody-migrator writes a user's archive (mod_storage_xep0227): XEP-0313 results, the delay beside the message.
const archived = file('alice@org-a.test.xml', `<server-data xmlns="urn:xmpp:pie:0"><host jid="org-a.test"><user name="alice">
  <scram-credentials xmlns="urn:xmpp:pie:0#scram" mechanism="SCRAM-SHA-1"><iter-count>4096</iter-count></scram-credentials>
  <archive xmlns="urn:xmpp:pie:0#mam">
    <result xmlns="urn:xmpp:mam:2" id="a1"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2026-11-23T07:15:00Z"/>
      <message xmlns="jabber:client" from="alice@org-a.test/laptop" to="bob@org-b.test" type="chat"><body>Hej bob: åäö</body></message></forwarded></result>
    <result xmlns="urn:xmpp:mam:2" id="a2"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2026-11-23T07:15:01Z"/>
      <message xmlns="jabber:client" from="bob@org-b.test/phone" to="alice@org-a.test" type="chat"><active xmlns="http://jabber.org/protocol/chatstates"/></message></forwarded></result>
  </archive></user></host></server-data>`);

// An offline message as an export holds it: the delay inside the message.
const offline = file('org-a_test.xml', `<server-data xmlns="urn:xmpp:pie:0"><host jid="org-a.test"><user name="carol"><offline-messages>
  <message xmlns="jabber:client" from="bob@org-b.test/phone" to="carol@org-a.test"><body>Till carol</body><delay xmlns="urn:xmpp:delay" stamp="2026-11-23T08:00:00.250Z"/></message>
  </offline-messages></user><user name="alice"/></host></server-data>`);

describe('reading a XEP-0227 export', () => {
  it('gives each archived message with a body, its sender, recipient and the archive\'s time; a body-less chat state is not a message', () => {
    expect(readXep0227([archived], 'alice@org-a.test').messages).toEqual([
      { sender: 'alice@org-a.test/laptop', recipient: 'bob@org-b.test', body: 'Hej bob: åäö', timestamp: Date.parse('2026-11-23T07:15:00Z') },
    ]);
  });

  it('gives stored (offline) messages with the delay stamp they carry', () => {
    expect(readXep0227([offline], 'carol@org-a.test').messages).toEqual([
      { sender: 'bob@org-b.test/phone', recipient: 'carol@org-a.test', body: 'Till carol', timestamp: Date.parse('2026-11-23T08:00:00.250Z') },
    ]);
  });

  it('names what a user\'s section holds, so a missing archive is visible in the evidence', () => {
    expect(readXep0227([archived], 'alice@org-a.test').userHolds).toBe('scram-credentials (urn:xmpp:pie:0#scram), archive (urn:xmpp:pie:0#mam)');
    expect(readXep0227([offline], 'alice@org-a.test').userHolds).toBe('an empty <user> element');
    expect(readXep0227([offline], 'alice@org-b.test').userHolds).toBe('no <user name="alice"> under <host jid="org-b.test">');
  });
});
