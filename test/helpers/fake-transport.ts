/**
 * The TURN server over a fake transport: no socket anywhere. A recording client link takes the
 * answers, fake relay ports hand out relay sockets that record what they send, and the allocation
 * table, policy hooks and server are the real ones (perimeter: 127.0.0.0/8 routed).
 */
import { createLogger } from '../../runtime/log/logger.js';
import { type AuthFailureLimiter, NonceIssuer } from '../../runtime/policy/auth/index.js';
import { Quota } from '../../runtime/policy/quota.js';
import { isParseError, parseStunMessage, type StunMessage } from '../../runtime/stun/index.js';
import { AllocationTable } from '../../runtime/turn/allocation-table.js';
import type {
  CredentialStore,
  PeerDatagramHandler,
  PeerSocket,
  RelayPorts,
} from '../../runtime/turn/hooks.js';
import { type RequestSource, type TurnListener, TurnServer } from '../../runtime/turn/server.js';
import type { ListenerStats } from '../../runtime/turn/stats.js';
import { listenerWithLink, routedPerimeter } from './turn-fixtures.js';

/** A relay socket that records what it sends, and holds the handler the allocation attached. */
export class FakePeerSocket implements PeerSocket {
  readonly sent: { data: string; ip: number; port: number }[] = [];
  handler: PeerDatagramHandler | undefined;
  closed = false;
  sendRange(buf: Buffer, start: number, len: number, ip: number, port: number): void {
    this.sent.push({ data: buf.toString('utf8', start, start + len), ip, port });
  }
  attach(handler: PeerDatagramHandler): () => void {
    this.handler = handler;
    return () => {
      this.handler = undefined;
    };
  }
  close(): void {
    this.closed = true;
  }
}

export interface FakeTransportOptions {
  readonly credentials: CredentialStore;
  /** @default new Quota({}) */
  readonly quota?: Quota;
  readonly authLimit?: AuthFailureLimiter;
  /** The clock of the table and the nonces. @default Date.now */
  readonly now?: () => number;
}

export interface FakeTransport {
  /** Every frame the server sent to a client, in order. */
  readonly out: Buffer[];
  /** Every relay socket handed out, reservations included, in order. */
  readonly sockets: FakePeerSocket[];
  readonly table: AllocationTable;
  readonly server: TurnServer;
  /** TURN-UDP listener 'l' on 127.0.0.1. */
  readonly listener: TurnListener;
  readonly stats: ListenerStats;
  /** A new client (5-tuple) from 127.0.0.1 on the listener: keys 1, 2, … */
  client(): RequestSource;
  /** Hands a request to the server; its answer once the async handlers settle, or undefined. */
  deliver(src: RequestSource, buf: Buffer): Promise<StunMessage | undefined>;
}

/** Relay ports count up from 50,000; a reservation takes the next port. */
export function fakeTransport(opts: FakeTransportOptions): FakeTransport {
  const out: Buffer[] = [];
  const { listener: ctx, link } = listenerWithLink(out);
  const sockets: FakePeerSocket[] = [];
  const socket = () => {
    const s = new FakePeerSocket();
    sockets.push(s);
    return s;
  };
  let nextPort = 50_000;
  const ports: RelayPorts = {
    bind: async (req) => {
      if (!req.reserveNext) return { socket: socket(), port: nextPort++ };
      nextPort += 2;
      return { socket: socket(), port: nextPort - 2, reserved: { socket: socket(), port: nextPort - 1 } };
    },
    bindExact: async () => undefined,
  };
  const logger = createLogger('all:WARN', () => {});
  const now = opts.now ?? Date.now;
  const table = new AllocationTable({
    perimeter: routedPerimeter(['127.0.0.0/8']),
    quota: opts.quota ?? new Quota({}),
    ports,
    logger: logger.scope('turn'),
    now,
  });
  const server = new TurnServer({
    table,
    logger: logger.scope('turn'),
    nonces: new NonceIssuer({ secret: Buffer.alloc(32, 1), now }),
    credentials: opts.credentials,
    authLimit: opts.authLimit,
  });
  const listener: TurnListener = {
    ...ctx,
    protocol: 'TURN-UDP',
    minRelayPort: undefined,
    maxRelayPort: undefined,
    relayBindAddress: () => '127.0.0.1',
    relayAddress: () => '127.0.0.1',
    isOpen: () => true,
  };
  let nextKey = 1;
  const client = (): RequestSource => {
    const k = nextKey++;
    return {
      listener,
      link,
      clientKey: k,
      textKey: `udp:127.0.0.1:${k}`,
      allocation: () => table.clients(listener).get(k),
    };
  };
  const deliver = async (src: RequestSource, buf: Buffer): Promise<StunMessage | undefined> => {
    const before = out.length;
    server.handle(src, buf, 0, buf.length);
    // Allocate binds its relay socket asynchronously: a few turns of the event loop, no timer.
    for (let i = 0; i < 10 && out.length === before; i++) await new Promise((r) => setImmediate(r));
    if (out.length === before) return undefined;
    const m = parseStunMessage(out.at(-1)!, 0, out.at(-1)!.length);
    if (isParseError(m)) throw new Error(m.error);
    return m;
  };
  return { out, sockets, table, server, listener, stats: ctx.stats, client, deliver };
}
