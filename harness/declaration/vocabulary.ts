import type { Protocol } from '../lab/types.ts';

/**
 * What a server can be seen to offer from the outside, and which declaration claims each observation
 * backs. A claim is a requirement id from `claims.supported` or a name from `claims.features`. Claims not
 * listed here (most RET-/AUD- rows, guest access, which depend on configuration a probe cannot see) are
 * reported as "not observable" and are left to the scenarios.
 *
 * SEC-TLS-CLIENT is observable for XMPP only: a Matrix deployment may terminate client TLS in a proxy
 * (the lab's client listener is plain HTTP on loopback), which the declaration must then describe.
 *
 * Matrix observations are unauthenticated requests: an endpoint "answers" when it gives anything but
 * 404 M_UNRECOGNIZED (Client-Server API, "API Standards": a server answers an unsupported endpoint so): 401 M_MISSING_TOKEN means it exists.
 * XMPP observations are XEP-0030 disco#info features, asked by a logged-in client of the server domain,
 * the account itself (PEP) and the server's components. Only what XEPs say an entity advertises is used:
 * RFC 6121 rosters, for one, need no disco feature (ejabberd lists none), so they are left to the scenarios.
 */
export interface ObservableFeature {
  id: string;
  protocol: Protocol;
  /** What it is, for the report. */
  description: string;
  /** The claims it backs: one of them claimed → the feature must be observed. */
  claims: string[];
  /** What a warning suggests declaring when it is shown but not claimed (default: `claims`); narrower where the
   * feature is necessary for a requirement but not enough for it (PEP for OMEMO). */
  warnAs?: string[];
}

const matrix = (id: string, description: string, claims: string[]): ObservableFeature => ({ id, protocol: 'matrix', description, claims });
const xmpp = (id: string, description: string, claims: string[], warnAs?: string[]): ObservableFeature => ({ id, protocol: 'xmpp', description, claims, ...(warnAs ? { warnAs } : {}) });

export const vocabulary: readonly ObservableFeature[] = [
  matrix('federation-api', 'Server-Server API: GET /_matrix/federation/v1/version answers with the server version',
    ['server-server API', 'FED-DISCOVERY', 'FED-DM', 'FED-ROOM', 'FED-INTEGRITY', 'FED-OFFLINE', 'FED-RESILIENCE']),
  matrix('client-api', 'Client-Server API: GET /_matrix/client/versions lists supported spec versions', ['client-server API']),
  matrix('media-config', 'media repository: GET /_matrix/client/v1/media/config answers', ['FED-FILE']),
  matrix('federation-profile-query', 'profile lookup over federation: GET /_matrix/federation/v1/query/profile answers', ['FED-DIRECTORY']),
  matrix('presence', 'presence: GET /_matrix/client/v3/presence/{userId}/status answers', ['FED-PRESENCE']),
  matrix('keys-query', 'end-to-end keys: POST /_matrix/client/v3/keys/query answers', ['E2E-DM', 'E2E-ROOM', 'E2E-DEVICES', 'E2E-LEAVER']),
  matrix('cross-signing', 'cross-signing keys: POST /_matrix/client/v3/keys/device_signing/upload answers', ['E2E-VERIFY']),
  matrix('key-backup', 'server-side key backup: GET /_matrix/client/v3/room_keys/version answers', ['E2E-BACKUP']),

  xmpp('client-tls', 'the client session is TLS-encrypted (STARTTLS, RFC 6120 §5)', ['RFC 6120', 'SEC-TLS-CLIENT']),
  xmpp('muc', 'the conference component offers XEP-0045 Multi-User Chat (http://jabber.org/protocol/muc)', ['XEP-0045', 'FED-ROOM'], ['XEP-0045']),
  xmpp('version', 'the server offers XEP-0092 software version (jabber:iq:version)', ['XEP-0092']),
  xmpp('ping', 'the server offers XEP-0199 ping (urn:xmpp:ping)', ['XEP-0199']),
  xmpp('offline', 'the server stores messages for offline users (msgoffline, XEP-0160)', ['XEP-0160', 'FED-OFFLINE'], ['XEP-0160']),
  xmpp('vcard', 'the server offers XEP-0054 vcard-temp', ['XEP-0054', 'FED-DIRECTORY'], ['XEP-0054']),
  xmpp('upload', 'a component offers XEP-0363 HTTP file upload (urn:xmpp:http:upload:0)', ['XEP-0363', 'FED-FILE'], ['XEP-0363']),
  xmpp('pep', 'the account offers XEP-0163 PEP (pubsub publish on the account), which OMEMO (XEP-0384) needs', ['XEP-0163', 'XEP-0384', 'E2E-DM', 'E2E-ROOM', 'E2E-DEVICES'], ['XEP-0163']),
  xmpp('mam', 'the account offers XEP-0313 message archive (urn:xmpp:mam:2)', ['XEP-0313']),
  xmpp('carbons', 'the server offers XEP-0280 message carbons (urn:xmpp:carbons:2)', ['XEP-0280']),
  xmpp('blocking', 'the server offers XEP-0191 blocking (urn:xmpp:blocking)', ['XEP-0191']),
  xmpp('last', 'the server offers XEP-0012 last activity (jabber:iq:last)', ['XEP-0012']),
  xmpp('time', 'the server offers XEP-0202 entity time (urn:xmpp:time)', ['XEP-0202']),
];

/** The disco#info feature var behind each XMPP observable, and on which entity it is looked for. */
export const xmppDiscoFeatures: Record<string, { entity: 'server' | 'muc' | 'account' | 'any-component'; feature: string }> = {
  muc: { entity: 'muc', feature: 'http://jabber.org/protocol/muc' },
  version: { entity: 'server', feature: 'jabber:iq:version' },
  ping: { entity: 'server', feature: 'urn:xmpp:ping' },
  offline: { entity: 'server', feature: 'msgoffline' },
  vcard: { entity: 'server', feature: 'vcard-temp' },
  upload: { entity: 'any-component', feature: 'urn:xmpp:http:upload:0' },
  pep: { entity: 'account', feature: 'http://jabber.org/protocol/pubsub#publish' },
  mam: { entity: 'account', feature: 'urn:xmpp:mam:2' },
  carbons: { entity: 'server', feature: 'urn:xmpp:carbons:2' },
  blocking: { entity: 'server', feature: 'urn:xmpp:blocking' },
  last: { entity: 'server', feature: 'jabber:iq:last' },
  time: { entity: 'server', feature: 'urn:xmpp:time' },
};

/**
 * A Matrix declaration claims spec versions by name in `claims.features`, e.g. "client-server API v1.11":
 * each must be listed in /_matrix/client/versions. Requirement ids are not tied to spec versions: the
 * server side of edits, reactions or threads is relaying events, which servers advertising older versions
 * do (Dendrite 0.15.2 lists up to v1.2 and passes FED-EDIT); the scenarios decide those.
 */
export const matrixVersionClaim = /^client-server API (v\d+\.\d+)$/i;

export function featuresFor(protocol: Protocol): ObservableFeature[] {
  return vocabulary.filter((f) => f.protocol === protocol);
}
