/**
 * Where a TURN client dials, and with which credentials: a listener of a dataplane config (its
 * public address first), with the config's credentials or a Secret file's. Ephemeral
 * (shared-secret) auth gets TURN REST credentials minted here, as the auth service does.
 * Reading gateways from dist/, a cluster or a URL is tools/sources/'s; this folder only names the
 * reader's type (GatewayReader), so that icetest can run without it (the pods' `stunnerd icetest`).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { isPort } from '../../contract/checks.js';
import {
  type AuthConfig,
  type ConfigResult,
  formatProblems,
  isTlsProtocol,
  type ListenerConfig,
  listenerProtocolOf,
  listenerTransport,
  type StunnerConfig,
  type ValidateOptions,
  validateConfig,
} from '../../contract/config/index.js';
import { credentialValues, type ManifestObject, parseManifests } from '../../contract/manifests.js';
import { ephemeralPassword, ephemeralUsername } from '../../runtime/policy/auth/authenticator.js';
import type { TransportAddress } from '../../runtime/stun/index.js';
import type { TurnTransport } from '../client/turn-client.js';

/**
 * A problem with what the user gave, printed as one line: a usage error (exit 2: a malformed
 * server, a listener the config does not have, credentials to pass) unless `failed` (exit 1: a
 * file that cannot be read or is not a valid config).
 */
export class TargetError extends Error {
  readonly usage: boolean;
  constructor(message: string, kind: 'usage' | 'failed' = 'usage') {
    super(message);
    this.usage = kind === 'usage';
  }
}

export interface TurnTarget {
  readonly host: string;
  readonly port: number;
  readonly transport: TurnTransport;
  readonly username: string;
  readonly password: string;
  /** The listener's name, for messages (`ns/gateway/listener`, or host:port for a URI). */
  readonly listener: string;
  /** The realm the config names, when known (the server's answer is what counts). */
  readonly realm?: string;
}

export interface CredentialSource {
  /** A Kubernetes Secret (YAML/JSON, `data` base64 or `stringData`) or a flat YAML map with
   *  `username`/`password` or `secret`, used when the config carries no credentials. */
  readonly secretFile?: string;
  /** User id folded into minted ephemeral usernames. @default 'turncat' */
  readonly userId?: string;
  /** Lifetime of minted ephemeral credentials in seconds. @default 3600 */
  readonly ttl?: number;
  /** Clock (ms), for tests. */
  readonly now?: () => number;
}

function wildcard(address: string): boolean {
  const a = address.trim();
  return a === '' || a === '0.0.0.0' || a === '::' || a === '[::]' || a.includes('$');
}

// Passes the check that a TLS listener's cert/key are base64 PEM; never reaches a result.
const STAND_IN_PEM = Buffer.from('-----BEGIN STAND-IN-----\n-----END STAND-IN-----\n').toString('base64');

/**
 * Validates a dataplane config as a TURN client reads it. A TURN-TLS/DTLS listener's cert and key
 * are the server's, injected into the pod at start (runtime/bootstrap.mjs): a client never needs
 * them, so a listener without them is valid here, and stays without them in the result. Those
 * given are checked and kept.
 */
export function validateClientConfig(raw: unknown, opts: ValidateOptions = {}): ConfigResult {
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { listeners?: unknown }).listeners))
    return validateConfig(raw, opts);
  const input = structuredClone(raw) as { listeners: unknown[] };
  const standIns = new Map<number, ('cert' | 'key')[]>();
  input.listeners.forEach((l, i) => {
    if (typeof l !== 'object' || l === null) return;
    const listener = l as Record<string, unknown>;
    const protocol =
      typeof listener.protocol === 'string' ? listenerProtocolOf(listener.protocol) : undefined;
    if (protocol === undefined || !isTlsProtocol(protocol)) return;
    const missing = (['cert', 'key'] as const).filter((k) => listener[k] === undefined || listener[k] === '');
    for (const k of missing) listener[k] = STAND_IN_PEM;
    if (missing.length > 0) standIns.set(i, missing);
  });
  const r = validateConfig(input, opts);
  if (!r.ok) return r;
  const config = structuredClone(r.config);
  for (const [i, keys] of standIns) for (const k of keys) delete config.listeners[i]![k];
  return { ...r, config };
}

/** Reads a Secret file (a Secret manifest, or a flat map of keys) into credential keys. */
export async function readSecretFile(path: string): Promise<Record<string, string>> {
  let objects: ManifestObject[];
  try {
    objects = parseManifests(await readFile(path, 'utf8'), path);
  } catch (e) {
    const m = (e as Error).message.split('\n')[0]!;
    throw new TargetError(`--secret-file ${m.startsWith(path) ? m : `${path}: ${m}`}`, 'failed');
  }
  if (objects.length === 0) throw new TargetError(`--secret-file ${path}: not a map`, 'failed');
  return credentialValues(objects);
}

/**
 * Credentials for a gateway's auth: static ones as they are, ephemeral ones minted from the
 * shared secret. Missing credentials come from the secret file.
 */
export async function credentialsFor(
  auth: AuthConfig,
  source: CredentialSource,
  where: string,
): Promise<{ username: string; password: string }> {
  let c: AuthConfig['credentials'] = auth.credentials;
  const missing =
    auth.type === 'static' ? c.username === undefined || c.password === undefined : c.secret === undefined;
  if (missing) {
    if (source.secretFile === undefined) {
      throw new TargetError(
        `${where} carries no ${auth.type === 'static' ? 'username/password' : 'shared secret'} (they are injected from a Secret at start); pass --secret-file <secret.yaml>`,
      );
    }
    c = { ...(await readSecretFile(source.secretFile)), ...stripUndefined(c) };
  }
  if (auth.type === 'static') {
    if (c.username === undefined || c.password === undefined) {
      throw new TargetError(`${where}: static auth needs username and password (none in the secret file)`);
    }
    return { username: c.username, password: c.password };
  }
  if (c.secret === undefined || c.secret === '') {
    throw new TargetError(`${where}: ephemeral auth needs a shared secret (key "secret")`);
  }
  const nowS = Math.floor((source.now ?? Date.now)() / 1000);
  const username = ephemeralUsername(source.userId ?? 'turncat', source.ttl ?? 3600, nowS);
  return { username, password: ephemeralPassword(c.secret, username) };
}

function stripUndefined(c: AuthConfig['credentials']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c)) if (v !== undefined) out[k] = v;
  return out;
}

/** Finds a listener by full (`ns/gw/name`) or short name; the only one when no name is given. */
export function findListener(config: StunnerConfig, name: string | undefined, where: string): ListenerConfig {
  const ls = config.listeners;
  if (name === undefined || name === '') {
    if (ls.length === 1) return ls[0]!;
    throw new TargetError(
      `${where} has ${ls.length} listeners; name one after '#': ${ls.map((l) => l.name).join(', ')}`,
    );
  }
  const hit = ls.find((l) => l.name === name) ?? ls.find((l) => l.name.split('/').pop() === name);
  if (hit === undefined) {
    throw new TargetError(
      `${where} has no listener "${name}"; it has: ${ls.map((l) => l.name).join(', ') || 'none'}`,
    );
  }
  return hit;
}

/** Target of one listener of a loaded config: public address first, else a dialable listener address. */
export async function targetOfListener(
  config: StunnerConfig,
  l: ListenerConfig,
  source: CredentialSource,
  opts: { where: string; host?: string } = { where: 'the config' },
): Promise<TurnTarget> {
  if (l.protocol === 'TURN-DTLS') {
    throw new TargetError(`listener "${l.name}" is TURN-DTLS, which this client does not speak`);
  }
  let host = opts.host;
  let port = l.port;
  if (host === undefined) {
    if (l.public_address !== undefined && !wildcard(l.public_address)) {
      host = l.public_address;
      port = l.public_port ?? l.port;
    } else if (!wildcard(l.address)) {
      host = l.address;
    } else {
      throw new TargetError(
        `listener "${l.name}" has no public address yet and listens on ${l.address}; give the gateway's address`,
      );
    }
  }
  const transport: TurnTransport = isTlsProtocol(l.protocol) ? 'tls' : listenerTransport(l.protocol);
  const cred = await credentialsFor(config.auth, source, opts.where);
  return { host, port, transport, ...cred, listener: l.name, realm: config.auth.realm };
}

/**
 * Loads a dataplane config file for a CLI. `$VAR`s expand from this process's environment, as
 * stunnerd expands them: a headless route's `$STUNNER_ADDR` endpoint must expand to an address for
 * the config to validate (the smoke-test Job sets it from the Downward API, like the gateway pod);
 * an unset variable expands to "" (a listener address then reads as unknown). Credentials injected
 * at start (absent from the file) are merged in from `secretFile` before validation; TLS
 * listeners need no cert/key (validateClientConfig).
 */
export async function loadDataplaneConfig(
  path: string,
  source: CredentialSource = {},
): Promise<StunnerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TargetError(
      `cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
      'failed',
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new TargetError(`${path} is not YAML or JSON: ${(e as Error).message.split('\n')[0]}`, 'failed');
  }
  const auth = (raw as { auth?: { credentials?: Record<string, unknown> } } | null)?.auth;
  if (source.secretFile !== undefined && auth !== undefined && typeof auth === 'object') {
    auth.credentials = { ...(await readSecretFile(source.secretFile)), ...(auth.credentials ?? {}) };
  }
  const r = validateClientConfig(raw, { env: process.env });
  if (!r.ok) {
    const credentialsOnly = r.problems.every((p) => p.path.startsWith('auth.credentials'));
    if (credentialsOnly && source.secretFile === undefined) {
      throw new TargetError(
        `${path} carries no ${r.problems.some((p) => p.path.endsWith('secret')) ? 'shared secret' : 'username/password'} (they are injected from a Secret at start); pass --secret-file <secret.yaml>`,
      );
    }
    throw new TargetError(
      `${path} is not a valid dataplane config: ${formatProblems(r.problems).split('\n')[0]!.trim()}`,
      'failed',
    );
  }
  return r.config;
}

/**
 * Reads gateway configs from synthesized YAML (`file://` of dist/, `-f`), a runtime's /status, or
 * a live cluster (`k8s://`, `--kubeconfig`). tools/sources/gateway-reader.ts implements it: the
 * public endpoints it resolved (config, load balancer, NodePort) become each listener's
 * public_address/public_port.
 */
export type GatewayReader = (
  source:
    | { kind: 'dist'; path: string }
    | { kind: 'url'; url: string }
    | { kind: 'cluster' }
    | { kind: 'k8s'; namespace: string; gateway: string },
  opts: { secretFile?: string; kubeconfig?: string; context?: string },
) => Promise<StunnerConfig[]>;

/** `udp://ip:port` (IPv6 in brackets) into an address; throws TargetError naming `what`. */
export function parseUdpAddress(raw: string, what: string): TransportAddress {
  const m = /^udp:\/\/(\[[^\]]+\]|[^:/]+):([0-9]{1,5})$/.exec(raw);
  const ip = m?.[1]?.replace(/^\[(.*)\]$/, '$1');
  const port = Number(m?.[2]);
  if (!m || ip === undefined || isIP(ip) === 0 || !isPort(port)) {
    throw new TargetError(`${what} "${raw}" is not udp://<ip>:<port>`);
  }
  return { family: isIP(ip) === 6 ? 6 : 4, address: ip, port };
}
