/**
 * Relay sockets: one UDP socket per allocation, from the listener's relay port range when it has
 * one, with EVEN-PORT (and the R bit: reserve the next port) support. Sockets use a synchronous
 * lookup (peers are always IP literals) so that send() goes out without a DNS hop or nextTick,
 * and larger kernel buffers.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type {
  BoundRelay,
  PeerDatagramHandler,
  PeerSocket,
  RelayPorts,
  RelayRequest,
} from '../../turn/hooks.js';
import { onDatagram } from './receive.js';
import { UdpSender } from './send.js';

export const RELAY_BUFFER_BYTES = 1 << 18;
const MAX_ATTEMPTS = 64;

type LookupCb = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
function literalLookup4(host: string, _opts: unknown, cb: LookupCb): void {
  cb(null, host, 4);
}
function literalLookup6(host: string, _opts: unknown, cb: LookupCb): void {
  cb(null, host, 6);
}
/** Sockets must never crash the process on an asynchronous error (e.g. ICMP-driven). */
function ignoreError(): void {}

/** An unbound UDP socket that sends to IP literals without any lookup. */
export function literalSocket(family: 4 | 6, reusePort = false): UdpSocket {
  const s = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    lookup: (family === 6 ? literalLookup6 : literalLookup4) as never,
    // Node >= 22.12 only; older versions ignore the option.
    ...(reusePort ? { reusePort: true } : {}),
  } as Parameters<typeof createSocket>[0]);
  s.on('error', ignoreError);
  return s;
}

export function raiseBuffers(s: UdpSocket, bytes: number, send = true): void {
  try {
    s.setRecvBufferSize(bytes);
    if (send) s.setSendBufferSize(bytes);
  } catch {
    // capped by the kernel (net.core.rmem_max); the default still works
  }
}

function bindOne(family: 4 | 6, address: string, port: number): Promise<UdpSocket | undefined> {
  return new Promise((resolve) => {
    const s = literalSocket(family);
    const onError = () => {
      s.off('listening', onListening);
      try {
        s.close();
      } catch {
        // never bound
      }
      resolve(undefined);
    };
    const onListening = () => {
      s.off('error', onError);
      // Receive side only: bursts from peers queue here; sends rarely block on loopback or LAN.
      raiseBuffers(s, RELAY_BUFFER_BYTES, false);
      resolve(s);
    };
    s.once('error', onError);
    s.once('listening', onListening);
    try {
      s.bind({ port, address, exclusive: true });
    } catch {
      onError();
    }
  });
}

export function closeQuietly(s: UdpSocket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}

/**
 * A bound relay socket as turn/ uses it (the PeerSocket hook): sends bypass dgram (UdpSender),
 * receives come straight from the UDP handle (onDatagram). One class, so the hot path's calls on
 * it stay monomorphic.
 */
export class UdpPeerSocket extends UdpSender implements PeerSocket {
  attach(handler: PeerDatagramHandler): () => void {
    return onDatagram(this.socket, handler);
  }

  close(): void {
    closeQuietly(this.socket);
  }
}

/** The RelayPorts hook of turn/: relay sockets bound by this module. */
export const udpRelayPorts: RelayPorts = {
  bind: bindRelay,
  async bindExact(family, address, port) {
    const s = await bindOne(family, address, port);
    return s === undefined ? undefined : new UdpPeerSocket(s);
  },
};

/** Binds a relay socket as requested; undefined when no port could be had. */
export async function bindRelay(req: RelayRequest): Promise<BoundRelay | undefined> {
  const ranged = req.minPort !== undefined && req.maxPort !== undefined;
  const lo = req.minPort ?? 0;
  const hi = req.maxPort ?? 0;
  const size = hi - lo + 1;
  const step = req.even ? 2 : 1;
  let candidate = 0;
  if (ranged) {
    candidate = lo + Math.floor(Math.random() * size);
    if (req.even && candidate % 2 === 1) candidate = candidate + 1 > hi ? candidate - 1 : candidate + 1;
  }
  const attempts = ranged ? Math.min(MAX_ATTEMPTS, Math.ceil(size / step)) : MAX_ATTEMPTS;
  for (let i = 0; i < attempts; i++) {
    let port = 0;
    if (ranged) {
      port = candidate;
      candidate += step;
      if (candidate > hi) candidate = req.even ? lo + (lo % 2) : lo;
      if (port < lo || port > hi || (req.reserveNext && port + 1 > hi)) continue;
    }
    const s = await bindOne(req.family, req.bindAddress, port);
    if (!s) continue;
    const got = s.address().port;
    if (req.even && got % 2 === 1) {
      closeQuietly(s);
      continue;
    }
    if (req.reserveNext) {
      const r = await bindOne(req.family, req.bindAddress, got + 1);
      if (!r) {
        closeQuietly(s);
        continue;
      }
      return {
        socket: new UdpPeerSocket(s),
        port: got,
        reserved: { socket: new UdpPeerSocket(r), port: got + 1 },
      };
    }
    return { socket: new UdpPeerSocket(s), port: got };
  }
  return undefined;
}
