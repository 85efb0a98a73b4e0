/**
 * Which address relay sockets bind to and which one clients are told. A listener on a specific
 * address relays from it; a wildcard listener relays from the pod address ($STUNNER_ADDR) or the
 * first non-internal interface, so that XOR-RELAYED-ADDRESS is something a peer can reach.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { RuntimeEnv } from '../../contract/pod-env.js';

export interface RelayAddressing {
  bind(family: 4 | 6): string | undefined;
  report(family: 4 | 6): string;
}

function firstInterfaceAddress(family: 4 | 6): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (!a.internal && (a.family === `IPv${family}` || (a.family as unknown) === family)) {
        if (family === 6 && a.address.startsWith('fe80')) continue;
        return a.address;
      }
    }
  }
  return undefined;
}

export function relayAddressing(
  listenerAddress: string,
  env: NodeJS.ProcessEnv = process.env,
): RelayAddressing {
  const fam = isIP(listenerAddress);
  const wildcard = listenerAddress === '0.0.0.0' || listenerAddress === '::';
  if (!wildcard) {
    return {
      bind: (f) => (f === fam ? listenerAddress : undefined),
      report: () => listenerAddress,
    };
  }
  const pod = env[RuntimeEnv.ADDR] ?? '';
  const reportFor = (f: 4 | 6): string => {
    if (isIP(pod) === f) return pod;
    return firstInterfaceAddress(f) ?? (f === 4 ? '127.0.0.1' : '::1');
  };
  const r4 = reportFor(4);
  const r6 = listenerAddress === '::' ? reportFor(6) : '::1';
  return {
    bind: (f) => (f === 4 ? '0.0.0.0' : listenerAddress === '::' ? '::' : undefined),
    report: (f) => (f === 4 ? r4 : r6),
  };
}
