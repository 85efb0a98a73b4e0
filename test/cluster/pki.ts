/**
 * The test cluster's PKI, made with openssl: one CA, the apiserver's serving certificate, client
 * certificates (admin in system:masters, the controller manager), and the service-account signing
 * key pair. Everything lives in the cluster's temporary directory.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly saKey: string;
  readonly saPub: string;
  /** A client certificate and key for `cn` in `orgs`. */
  client(name: string, cn: string, orgs?: readonly string[]): { cert: string; key: string };
  /** A serving certificate and key for these DNS names, signed by the same CA. */
  serving(name: string, dnsNames: readonly string[]): { cert: string; key: string };
}

function openssl(args: readonly string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** EC P-256 keys: fast to make, accepted by every component. */
function key(path: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path]);
}

export function makePki(dir: string, serverIPs: readonly string[], serverNames: readonly string[] = []): Pki {
  const p = (f: string) => join(dir, f);
  key(p('ca.key'));
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    p('ca.key'),
    '-days',
    '2',
    '-subj',
    '/CN=stunner-gitops-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    p('ca.crt'),
  ]);
  const sign = (name: string, subj: string, ext: string) => {
    key(p(`${name}.key`));
    openssl(['req', '-new', '-key', p(`${name}.key`), '-subj', subj, '-out', p(`${name}.csr`)]);
    writeFileSync(p(`${name}.ext`), ext);
    openssl([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
      '-out',
      p(`${name}.crt`),
    ]);
    return { cert: p(`${name}.crt`), key: p(`${name}.key`) };
  };
  const san = [
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'DNS:localhost',
    'IP:127.0.0.1',
    ...serverIPs.map((ip) => `IP:${ip}`),
    ...serverNames.map((n) => `DNS:${n}`),
  ].join(',');
  const servingExt = (sans: string) =>
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`;
  const server = sign('apiserver', '/CN=kube-apiserver', servingExt(san));
  // service-account tokens: an RSA pair, as the apiserver's default signing algorithm expects
  openssl(['genrsa', '-out', p('sa.key'), '2048']);
  openssl(['rsa', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: server.cert,
    serverKey: server.key,
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    client(name, cn, orgs = []) {
      const subj = `/CN=${cn}${orgs.map((o) => `/O=${o}`).join('')}`;
      return sign(
        name,
        subj,
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
      );
    },
    serving(name, dnsNames) {
      return sign(name, `/CN=${dnsNames[0]}`, servingExt(dnsNames.map((n) => `DNS:${n}`).join(',')));
    },
  };
}
