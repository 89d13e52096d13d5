import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, envRefsIn } from '../../harness/package/redact.ts';

describe('the redactor', () => {
  const r = new Redactor(['s3cret-value-42', 'abc']);

  it('replaces known secret values, but never a value too short to be one', () => {
    expect(r.redact('the secret is s3cret-value-42.')).toBe(`the secret is ${REDACTED}.`);
    expect(r.redact('abc stays')).toBe('abc stays');
  });

  it('replaces credentials by shape and keeps the rest of the line readable', () => {
    expect(r.redact('{"username":"alice","password":"p\\"w","mac":"ff00"}')).toBe(`{"username":"alice","password":"${REDACTED}","mac":"${REDACTED}"}`);
    expect(r.redact('GET /sync?access_token=abcdef123&timeout=0')).toBe(`GET /sync?access_token=${REDACTED}&timeout=0`);
    expect(r.redact('Authorization: Bearer syt_abc_def_123')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(r.redact('token syt_YWxpY2U_abcdef_12345 used')).toBe(`token ${REDACTED} used`);
    expect(r.redact('registration_shared_secret: "xyz987"')).toBe(`registration_shared_secret: ${REDACTED}`);
    expect(r.redact("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>"))
      .toBe(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${REDACTED}</auth>`);
    // A XEP-0363 upload slot's PUT credentials.
    expect(r.redact('<put url="https://upload.org-a.test/x"><header name="Authorization">Bearer eyJhbGciOi.eyJpYXQi.c2ln</header><header name=\'Cookie\'>s=1</header></put>'))
      .toBe(`<put url="https://upload.org-a.test/x"><header name="Authorization">${REDACTED}</header><header name='Cookie'>${REDACTED}</header></put>`);
    expect(r.redact('registration_shared_secret_path: /lab/run/org-a/registration_shared_secret')).toBe('registration_shared_secret_path: /lab/run/org-a/registration_shared_secret');
  });

  it('keeps JSON parseable', () => {
    const json = JSON.stringify({ a: { password: 'x"y', access_token: 'syt_abcdefghij_0' }, note: 's3cret-value-42' });
    expect(JSON.parse(r.redact(json))).toEqual({ a: { password: REDACTED, access_token: REDACTED }, note: REDACTED });
  });

  it('finds env: references in a declaration', () => {
    expect(envRefsIn('secret: env:PILOT_A_SECRET\npassword: env:B_1')).toEqual([{ env: 'PILOT_A_SECRET' }, { env: 'B_1' }]);
  });
});
