/**
 * Certificates a test makes for itself with the `openssl` CLI (Debian's openssl package, in
 * every image that has Node): a CA, and server or client certificates it signs. Each lives
 * in a temporary directory that `remove()` deletes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  /** files, for the STARLING_*_CERT / _KEY settings */
  certFile: string;
  keyFile: string;
  /** their contents, for a client's options */
  cert: Buffer;
  key: Buffer;
}

export interface CertDir {
  readonly dir: string;
  /** a self-signed CA */
  ca(name: string): Pem;
  /** a certificate for 127.0.0.1 (subjectAltName IP) signed by `ca` */
  server(name: string, ca: Pem): Pem;
  /** a client certificate with subject CN=`cn`, signed by `ca` */
  client(name: string, cn: string, ca: Pem): Pem;
  remove(): void;
}

const openssl = (args: string[], cwd: string): void => void execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

export function certDir(): CertDir {
  const dir = mkdtempSync(join(tmpdir(), 'starling-certs-'));
  const pem = (name: string): Pem => {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  };
  const signed = (name: string, subject: string, ca: Pem, ext: string): Pem => {
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
    return pem(name);
  };
  return {
    dir,
    ca(name) {
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
      return pem(name);
    },
    server: (name, ca) => signed(name, '/CN=127.0.0.1', ca, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
    client: (name, cn, ca) => signed(name, `/O=Starling tests/CN=${cn}`, ca, 'extendedKeyUsage=clientAuth\n'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
