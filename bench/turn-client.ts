/**
 * Control-plane TURN client for the benchmark: Allocate (401, then authenticated), CreatePermission,
 * ChannelBind, Refresh. One UDP socket per client, connected to the server, so one 5-tuple = one
 * allocation. Requests retransmit (loopback rarely drops, but a flooded server might).
 */
import dgram from 'node:dgram';
import {
  type Addr,
  Attr,
  Cls,
  type Decoded,
  decode,
  decodeXorAddr,
  encode,
  errorCode,
  longTermKey,
  Method,
  newTxid,
  u32,
  xorAddr,
} from './stun.js';

export interface Credentials {
  readonly user: string;
  readonly pass: string;
}

interface Pending {
  readonly resolve: (d: Decoded) => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const RTO_MS = 300;
const TRIES = 6;

export class TurnError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export class TurnClient {
  /** Requests sent again after a timeout, over all clients (a server that drops requests shows here). */
  static retransmissions = 0;
  readonly sock: dgram.Socket;
  private readonly pending = new Map<string, Pending>();
  private realm = '';
  private nonce: Buffer | undefined;
  private key: Buffer | undefined;
  relay: Addr | undefined;

  private constructor(
    sock: dgram.Socket,
    readonly server: Addr,
    private readonly creds: Credentials,
  ) {
    this.sock = sock;
    sock.on('message', (m) => this.onControl(m));
  }

  static async open(server: Addr, creds: Credentials): Promise<TurnClient> {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
    sock.on('error', () => {});
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
    await new Promise<void>((res) => sock.connect(server.port, server.address, res));
    return new TurnClient(sock, server, creds);
  }

  /** Socket bound on 127.0.0.1 only; the kernel picks the port. */
  get local(): Addr {
    const a = this.sock.address();
    return { address: a.address, port: a.port };
  }

  private onControl(m: Buffer): void {
    const d = decode(m);
    if (!d || d.cls === Cls.INDICATION) return;
    const k = d.txid.toString('latin1');
    const p = this.pending.get(k);
    if (!p) return;
    this.pending.delete(k);
    clearTimeout(p.timer);
    p.resolve(d);
  }

  /** Replaces the control handler, e.g. with the load generator's hot-path handler. */
  setHandler(fn: (m: Buffer) => void): void {
    this.sock.removeAllListeners('message');
    this.sock.on('message', fn);
  }

  restoreControl(): void {
    this.setHandler((m) => this.onControl(m));
  }

  transact(method: number, attrs: [number, Buffer][], auth: boolean): Promise<Decoded> {
    const txid = newTxid();
    const all = auth ? this.authAttrs(attrs) : attrs;
    const msg = encode(method, Cls.REQUEST, txid, all, auth ? this.key : undefined);
    const k = txid.toString('latin1');
    return new Promise<Decoded>((resolve, reject) => {
      let tries = 0;
      const fire = (): void => {
        if (++tries > TRIES) {
          this.pending.delete(k);
          reject(new TurnError(`timeout: method ${method} to ${this.server.address}:${this.server.port}`));
          return;
        }
        if (tries > 1) TurnClient.retransmissions++;
        this.sock.send(msg);
        p.timer = setTimeout(fire, RTO_MS * tries);
      };
      const p: Pending = { resolve, reject, timer: undefined };
      this.pending.set(k, p);
      fire();
    });
  }

  private authAttrs(attrs: [number, Buffer][]): [number, Buffer][] {
    return [
      ...attrs,
      [Attr.USERNAME, Buffer.from(this.creds.user)],
      [Attr.REALM, Buffer.from(this.realm)],
      [Attr.NONCE, this.nonce ?? Buffer.alloc(0)],
    ];
  }

  /** Authenticated request with one retry on 438 (stale nonce). */
  private async authed(method: number, attrs: [number, Buffer][]): Promise<Decoded> {
    for (let i = 0; i < 2; i++) {
      const d = await this.transact(method, attrs, true);
      const code = errorCode(d);
      if (d.cls === Cls.SUCCESS) return d;
      if (code === 438 && d.attrs.get(Attr.NONCE)) {
        this.nonce = Buffer.from(d.attrs.get(Attr.NONCE)!);
        continue;
      }
      throw new TurnError(`method ${method} failed with ${code}`, code);
    }
    throw new TurnError(`method ${method}: stale nonce twice`, 438);
  }

  /** The full flow: unauthenticated Allocate, 401 with realm+nonce, authenticated Allocate. */
  async allocate(lifetime = 600): Promise<Addr> {
    const attrs: [number, Buffer][] = [
      [Attr.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0])],
      [Attr.LIFETIME, u32(lifetime)],
    ];
    const first = await this.transact(Method.ALLOCATE, attrs, false);
    if (first.cls === Cls.SUCCESS) throw new TurnError('server allocated without authentication');
    if (errorCode(first) !== 401) throw new TurnError(`expected 401, got ${errorCode(first)}`);
    const realm = first.attrs.get(Attr.REALM);
    const nonce = first.attrs.get(Attr.NONCE);
    if (!realm || !nonce) throw new TurnError('401 without REALM/NONCE');
    this.realm = realm.toString();
    this.nonce = Buffer.from(nonce);
    this.key = longTermKey(this.creds.user, this.realm, this.creds.pass);
    const ok = await this.authed(Method.ALLOCATE, attrs);
    const relay = ok.attrs.get(Attr.XOR_RELAYED_ADDRESS);
    const a = relay ? decodeXorAddr(relay) : undefined;
    if (!a) throw new TurnError('Allocate success without XOR-RELAYED-ADDRESS');
    // Servers bound to 0.0.0.0 may advertise it; the benchmark talks to the loopback address.
    this.relay = a.address === '0.0.0.0' ? { address: this.server.address, port: a.port } : a;
    return this.relay;
  }

  async createPermission(peer: Addr): Promise<void> {
    await this.authed(Method.CREATE_PERMISSION, [[Attr.XOR_PEER_ADDRESS, xorAddr(peer)]]);
  }

  async channelBind(channel: number, peer: Addr): Promise<void> {
    const ch = Buffer.alloc(4);
    ch.writeUInt16BE(channel, 0);
    await this.authed(Method.CHANNEL_BIND, [
      [Attr.CHANNEL_NUMBER, ch],
      [Attr.XOR_PEER_ADDRESS, xorAddr(peer)],
    ]);
  }

  /** Refresh; lifetime 0 deletes the allocation. */
  async refresh(lifetime: number): Promise<void> {
    await this.authed(Method.REFRESH, [[Attr.LIFETIME, u32(lifetime)]]);
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }
}
