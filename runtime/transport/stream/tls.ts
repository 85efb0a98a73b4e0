/**
 * The TURN-TLS listener's TLS settings: protocol versions, cipher suites, and the certificate and
 * key of a listener config, checked as a pair before they serve.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { ListenerConfig } from '../../../contract/config/index.js';

/** TLS 1.2 is the oldest version offered; 1.0 and 1.1 are refused. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/**
 * The suites offered: TLS 1.3's AEAD suites, and for TLS 1.2 only ECDHE (forward secrecy) with
 * AES-GCM or ChaCha20-Poly1305. No CBC, no SHA-1 MAC, no RSA key exchange, no DHE.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Why a listener's cert and key cannot serve. */
export class TlsMaterialError extends Error {}

function keyKind(k: { asymmetricKeyType?: string | undefined }): string {
  return (k.asymmetricKeyType ?? 'unknown').toUpperCase();
}

/**
 * The TLS server options of a TURN-TLS listener config. Throws TlsMaterialError when the cert or
 * key does not parse, or the key is not the certificate's: OpenSSL itself accepts e.g. an ECDSA
 * certificate with an RSA key, and then fails every handshake.
 */
export function tlsServerOptions(config: ListenerConfig): TlsOptions {
  const cert = Buffer.from(config.cert ?? '', 'base64');
  const key = Buffer.from(config.key ?? '', 'base64');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new TlsMaterialError(`the certificate is not a PEM X.509 certificate (${(e as Error).message})`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new TlsMaterialError(`the key is not a PEM private key (${(e as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsMaterialError(
      `the key (${keyKind(privateKey)}) does not belong to the certificate (${keyKind(x509.publicKey)} public key, subject ${x509.subject.replace(/\n/g, ', ')})`,
    );
  }
  const options: TlsOptions = {
    cert,
    key,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
  try {
    createSecureContext(options);
  } catch (e) {
    throw new TlsMaterialError(`the certificate and key cannot serve (${(e as Error).message})`);
  }
  return options;
}
