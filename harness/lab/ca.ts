import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Certificate {
  certFile: string;
  keyFile: string;
  /** Chain file: leaf then CA, for servers that want one file. */
  chainFile: string;
}

/**
 * A throwaway certificate authority for one lab. Keys are made fresh in the lab's state directory
 * and never leave it. Leaves carry serverAuth and clientAuth: XMPP peers present them as TLS clients.
 */
export class LabCA {
  readonly certFile: string;
  private readonly keyFile: string;

  private constructor(private readonly dir: string) {
    this.certFile = join(dir, 'ca.pem');
    this.keyFile = join(dir, 'ca.key');
  }

  static async create(dir: string): Promise<LabCA> {
    mkdirSync(dir, { recursive: true });
    const ca = new LabCA(dir);
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', ca.keyFile]);
    await run('openssl', ['req', '-x509', '-new', '-key', ca.keyFile, '-sha256', '-days', '7', '-subj', '/CN=fedconf throwaway lab CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', ca.certFile]);
    return ca;
  }

  /** Issue a certificate for `names` (the first is the subject); `ipAddresses` go into the SAN too. */
  async issue(names: string[], ipAddresses: string[] = []): Promise<Certificate> {
    const [primary] = names;
    if (!primary) throw new Error('issue() needs at least one name');
    const base = join(this.dir, primary);
    const cert = { certFile: `${base}.pem`, keyFile: `${base}.key`, chainFile: `${base}.chain.pem` };
    if (existsSync(cert.chainFile)) return cert;
    const ext = `${base}.ext`;
    const san = [...names.map((n) => `DNS:${n}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(',');
    writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n`);
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.ec.key`]);
    // PKCS#8: accepted by every server we run (some Erlang/Lua stacks dislike the SEC1 "EC PRIVATE KEY" form).
    await run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', `${base}.ec.key`, '-out', cert.keyFile]);
    await run('openssl', ['req', '-new', '-key', cert.keyFile, '-subj', `/CN=${primary}`, '-out', `${base}.csr`]);
    await run('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', this.certFile, '-CAkey', this.keyFile, '-CAcreateserial',
      '-days', '7', '-sha256', '-extfile', ext, '-out', cert.certFile]);
    const { stdout: leaf } = await run('cat', [cert.certFile, this.certFile]);
    writeFileSync(cert.chainFile, leaf);
    return cert;
  }
}

/**
 * A certificate for `names` signed by its own key: valid in form, but it chains to no CA a server trusts
 * (the "peer whose certificate does not validate" of FED-AUTH).
 */
export async function selfSignedCertificate(dir: string, names: string[]): Promise<{ certFile: string; keyFile: string }> {
  const [primary] = names;
  if (!primary) throw new Error('selfSignedCertificate() needs at least one name');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${primary}.self-signed`);
  const cert = { certFile: `${base}.pem`, keyFile: `${base}.key` };
  if (existsSync(cert.certFile)) return cert;
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', cert.keyFile,
    '-days', '7', '-sha256', '-subj', `/CN=${primary}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-addext', 'extendedKeyUsage=serverAuth,clientAuth', '-out', cert.certFile]);
  return cert;
}
