/** Throwaway TLS material for TURN-TLS tests. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The key type of a test certificate: ECDSA P-256 (the default) or RSA 2048. */
export type CertKind = 'ec' | 'rsa';

/**
 * A fresh self-signed certificate for localhost and 127.0.0.1 (valid one day), made by openssl;
 * cert and key as base64 PEM, the form a listener's `cert`/`key` take in the config. `cn` names
 * the subject, so that a test can tell two certificates apart; `dnsNames` replaces localhost
 * (e.g. a cert-manager Certificate's names).
 */
export async function selfSignedCert(
  kind: CertKind = 'ec',
  cn = 'localhost',
  dnsNames: readonly string[] = ['localhost'],
): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'stunnerd-cert-'));
  try {
    const [keyPath, certPath] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    const keyArgs =
      kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      ...keyArgs,
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${[...dnsNames.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',')}`,
      '-days',
      '1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]);
    const base64 = async (path: string) => (await readFile(path)).toString('base64');
    return { cert: await base64(certPath), key: await base64(keyPath) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
