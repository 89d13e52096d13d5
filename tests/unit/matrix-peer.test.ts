import { describe, expect, it } from 'vitest';
import { contentHash, finishEvent, signJson, SigningKey } from '../../harness/probes/matrix-peer.ts';

// The Matrix specification's test vectors (Appendices, "Signing Details" / "Signing events"): the key seed
// YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1 as ed25519:1 of the server "domain".
const key = new SigningKey('ed25519:1', Buffer.from('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', 'base64'));

describe('the Matrix peer signs as the specification does', () => {
  it('signs JSON over its canonical form (the empty object and a simple object)', () => {
    expect(signJson({}, 'domain', key).signatures).toEqual({ domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' } });
    expect(signJson({ one: 1, two: 'Two' }, 'domain', key).signatures).toEqual({ domain: { 'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw' } });
  });

  it('hashes and signs a minimal event', () => {
    const event = { auth_events: [], content: {}, depth: 3, origin: 'domain', origin_server_ts: 1000000, prev_events: [], room_id: '!x:domain', sender: '@a:domain', type: 'X', unsigned: { age_ts: 1000000 } };
    expect(contentHash(event)).toBe('5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos');
    expect(finishEvent(event, '6', 'domain', key).pdu.signatures).toEqual({ domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' } });
  });
});
