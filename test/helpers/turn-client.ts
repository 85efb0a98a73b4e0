/**
 * The TURN client and UDP peer for tests, built on our codec: long-term auth (401 -> retry with
 * nonce, 438 -> new nonce), Allocate, Refresh, CreatePermission, ChannelBind, Send, ChannelData;
 * over UDP or TCP/TLS. Requests retransmit on UDP; every wait is bounded in time.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  Attr,
  decodeErrorCode,
  decodeString,
  decodeXorAddress,
  isParseError,
  longTermKey,
  MessageClass,
  Method,
  newTransactionId,
  parseStunMessage,
  readUint32,
  StreamFramer,
  type StunMessage,
  StunMessageBuilder,
  type TransportAddress,
} from '../../runtime/stun/index.js';
import { until } from './wait.js';

export class TurnError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly response: StunMessage,
  ) {
    super(`TURN error ${code} ${reason}`);
  }
}

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly realm?: string;
  readonly transport?: 'udp' | 'tcp' | 'tls';
  readonly timeoutMs?: number;
  /** Source address (UDP, TCP and TLS), e.g. 127.0.0.2 to be another client host on loopback. @default 127.0.0.1 */
  readonly localAddress?: string;
}

type Extra = (b: StunMessageBuilder) => void;

export class TurnClient {
  private udp: UdpSocket | undefined;
  private stream: Socket | undefined;
  private readonly waiting = new Map<string, (m: StunMessage) => void>();
  private nonce: string | undefined;
  private realm: string | undefined;
  relayed: TransportAddress | undefined;
  mapped: TransportAddress | undefined;
  lifetime = 0;
  /** Payloads received from peers: channel number or 'data' (Data indication), peer, payload. */
  readonly received: { via: number | 'data'; peer?: TransportAddress; data: Buffer }[] = [];
  /** Every raw response, for byte-level assertions. */
  readonly responses: Buffer[] = [];

  constructor(readonly opts: ClientOptions) {}

  static async open(opts: ClientOptions): Promise<TurnClient> {
    const c = new TurnClient(opts);
    await c.connect();
    return c;
  }

  private async connect(): Promise<void> {
    const t = this.opts.transport ?? 'udp';
    if (t === 'udp') {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, this.opts.localAddress ?? '127.0.0.1', r));
      s.on('message', (m) => this.onPacket(m, 0, m.length));
      this.udp = s;
      return;
    }
    const framer = new StreamFramer(
      (b, s, e) => this.onPacket(Buffer.from(b.subarray(s, e)), 0, e - s),
      () => this.stream?.destroy(),
    );
    const sock =
      t === 'tls'
        ? tlsConnect({
            host: this.opts.host,
            port: this.opts.port,
            rejectUnauthorized: false,
            ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
          })
        : netConnect({
            host: this.opts.host,
            port: this.opts.port,
            ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
          });
    await new Promise<void>((resolve, reject) => {
      sock.once(t === 'tls' ? 'secureConnect' : 'connect', () => resolve());
      sock.once('error', reject);
    });
    sock.on('data', (d: Buffer) => framer.push(d));
    sock.on('error', () => {});
    this.stream = sock;
  }

  /** The local UDP port (UDP clients). */
  get localPort(): number {
    return this.udp?.address().port ?? this.stream?.localPort ?? 0;
  }

  sendRaw(buf: Buffer): void {
    if (this.udp) this.udp.send(buf, this.opts.port, this.opts.host);
    else this.stream?.write(buf);
  }

  private onPacket(buf: Buffer, start: number, end: number): void {
    const b0 = buf[start]!;
    if ((b0 & 0xc0) === 0x40) {
      const ch = buf.readUInt16BE(start);
      const len = buf.readUInt16BE(start + 2);
      this.received.push({ via: ch, data: Buffer.from(buf.subarray(start + 4, start + 4 + len)) });
      return;
    }
    const m = parseStunMessage(buf, start, end);
    if (isParseError(m)) return;
    if (m.cls === MessageClass.INDICATION && m.method === Method.DATA) {
      const pa = m.get(Attr.XOR_PEER_ADDRESS);
      const d = m.value(Attr.DATA);
      if (pa && d) {
        const peer = decodeXorAddress(m, pa);
        this.received.push({ via: 'data', ...(peer ? { peer } : {}), data: Buffer.from(d) });
      }
      return;
    }
    this.responses.push(Buffer.from(buf.subarray(start, end)));
    const k = m.transactionKey();
    const w = this.waiting.get(k);
    if (w) {
      this.waiting.delete(k);
      w(m);
    }
  }

  /** Sends a request and waits for its answer (retransmitting on UDP). */
  async transact(buf: Buffer, txid: Buffer): Promise<StunMessage> {
    const key = txid.toString('hex');
    const timeout = this.opts.timeoutMs ?? 2000;
    return new Promise<StunMessage>((resolve, reject) => {
      let tries = 0;
      const timer = setInterval(() => {
        if (++tries * 250 >= timeout) {
          clearInterval(timer);
          this.waiting.delete(key);
          reject(new Error(`no answer within ${timeout} ms`));
          return;
        }
        if (this.udp) this.sendRaw(buf);
      }, 250);
      this.waiting.set(key, (m) => {
        clearInterval(timer);
        resolve(m);
      });
      this.sendRaw(buf);
    });
  }

  private key(): Buffer {
    return longTermKey(this.opts.username, this.realm ?? this.opts.realm ?? '', this.opts.password);
  }

  /** An authenticated request; handles the 401/438 challenge. Rejects with TurnError on an error answer. */
  async request(method: number, extra: Extra = () => {}, opts: { raw?: boolean } = {}): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const txid = newTransactionId();
      const b = new StunMessageBuilder(method, MessageClass.REQUEST, txid);
      extra(b);
      let buf: Buffer;
      if (this.nonce !== undefined && this.realm !== undefined) {
        b.addString(Attr.USERNAME, this.opts.username)
          .addString(Attr.REALM, this.realm)
          .addString(Attr.NONCE, this.nonce);
        buf = b.build({ integrityKey: this.key() });
      } else {
        buf = b.build();
      }
      const res = await this.transact(buf, txid);
      if (res.cls === MessageClass.SUCCESS) return res;
      const ec = res.get(Attr.ERROR_CODE);
      const err = ec ? decodeErrorCode(res, ec) : undefined;
      const code = err?.code ?? 0;
      const nonceAttr = res.get(Attr.NONCE);
      const realmAttr = res.get(Attr.REALM);
      const hadNonce = this.nonce !== undefined;
      if (nonceAttr) this.nonce = decodeString(res, nonceAttr);
      if (realmAttr) this.realm = decodeString(res, realmAttr);
      if (!opts.raw && ((code === 401 && !hadNonce) || code === 438)) continue;
      throw new TurnError(code, err?.reason ?? '', res);
    }
    throw new Error('authentication did not converge');
  }

  async allocate(extra: Extra = (b) => b.addRequestedTransport(17)): Promise<TransportAddress> {
    const res = await this.request(Method.ALLOCATE, extra);
    const ra = res.get(Attr.XOR_RELAYED_ADDRESS);
    const ma = res.get(Attr.XOR_MAPPED_ADDRESS);
    const lt = res.get(Attr.LIFETIME);
    // a TURN server must challenge before it allocates
    if (this.nonce === undefined) throw new Error('server allocated without authentication');
    this.relayed = ra ? decodeXorAddress(res, ra) : undefined;
    this.mapped = ma ? decodeXorAddress(res, ma) : undefined;
    this.lifetime = lt ? (readUint32(res, lt) ?? 0) : 0;
    if (!this.relayed) throw new Error('no XOR-RELAYED-ADDRESS');
    return this.relayed;
  }

  async refresh(lifetime?: number): Promise<number> {
    const res = await this.request(Method.REFRESH, (b) => {
      if (lifetime !== undefined) b.addUint32(Attr.LIFETIME, lifetime);
    });
    const lt = res.get(Attr.LIFETIME);
    return lt ? (readUint32(res, lt) ?? -1) : -1;
  }

  /** Permissions for peer addresses, or bare IPs (a permission ignores the port). */
  async createPermission(...peers: (TransportAddress | string)[]): Promise<void> {
    await this.request(Method.CREATE_PERMISSION, (b) => {
      for (const p of peers)
        b.addXorAddress(
          Attr.XOR_PEER_ADDRESS,
          typeof p === 'string' ? { family: 4, address: p, port: 0 } : p,
        );
    });
  }

  async channelBind(channel: number, peer: TransportAddress): Promise<void> {
    await this.request(Method.CHANNEL_BIND, (b) => {
      b.addChannelNumber(channel).addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  send(peer: TransportAddress, data: Buffer): void {
    const b = new StunMessageBuilder(Method.SEND, MessageClass.INDICATION, newTransactionId())
      .addXorAddress(Attr.XOR_PEER_ADDRESS, peer)
      .addBuffer(Attr.DATA, data);
    this.sendRaw(b.build());
  }

  channelData(channel: number, data: Buffer): void {
    const len = data.length;
    const pad = this.udp ? 0 : (4 - (len & 3)) & 3;
    const out = Buffer.alloc(4 + len + pad);
    out.writeUInt16BE(channel, 0);
    out.writeUInt16BE(len, 2);
    data.copy(out, 4);
    this.sendRaw(out);
  }

  /** The payloads received on one channel (or via Data indications: 'data'). */
  payloads(via: number | 'data'): Buffer[] {
    return this.received.filter((r) => r.via === via).map((r) => r.data);
  }

  count(via: number | 'data'): number {
    let n = 0;
    for (const r of this.received) if (r.via === via) n++;
    return n;
  }

  /** Waits until `n` payloads have arrived (or throws after timeoutMs). */
  async waitReceived(n: number, timeoutMs = 2000): Promise<void> {
    await until(`${n} payloads from peers`, () => this.received.length >= n, timeoutMs);
  }

  close(): void {
    try {
      this.udp?.close();
    } catch {
      // closed
    }
    this.stream?.destroy();
  }
}

/** A UDP peer on loopback (what relayed media reaches): records what it gets, can echo it back. */
export class UdpPeer {
  readonly got: { data: Buffer; from: TransportAddress }[] = [];
  private constructor(
    readonly socket: UdpSocket,
    readonly echo: boolean,
  ) {
    socket.on('message', (m, r) => {
      this.got.push({ data: m, from: { family: 4, address: r.address, port: r.port } });
      if (this.echo) socket.send(m, r.port, r.address);
    });
  }

  static async open(echo = true, host = '127.0.0.1'): Promise<UdpPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, host, resolve);
    });
    return new UdpPeer(s, echo);
  }

  get address(): TransportAddress {
    const { address, port } = this.socket.address();
    return { family: 4, address, port };
  }

  sendTo(to: TransportAddress, data: Buffer): void {
    this.socket.send(data, to.port, to.address);
  }

  async waitGot(n: number, timeoutMs = 2000): Promise<void> {
    await until(`the peer gets ${n} datagrams`, () => this.got.length >= n, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}
