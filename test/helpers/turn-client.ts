/**
 * The tools' TURN client (tools/client) as the tests use it: it records what the server sent
 * (payloads from peers, every response as bytes) and takes channel numbers and Allocate attributes
 * from the caller. All the protocol is the tools' client; this file only records and renames.
 * Also a UDP peer on loopback.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import {
  Attr,
  decodeXorAddress,
  isChannelData,
  isParseError,
  MessageClass,
  Method,
  parseStunMessage,
  type StunMessage,
  type StunMessageBuilder,
  type TransportAddress,
} from '../../runtime/stun/index.js';
import {
  TurnClient as Client,
  type FrameHandler,
  type RequestOptions,
  TurnError,
  TurnUnreachableError,
} from '../../tools/client/turn-client.js';
import { until } from './wait.js';

export { TurnError, TurnUnreachableError };

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly transport?: 'udp' | 'tcp' | 'tls';
  /** Longest wait for one answer. @default 2000 */
  readonly timeoutMs?: number;
  /** Source address (UDP, TCP and TLS), e.g. 127.0.0.2 to be another client host on loopback. @default 127.0.0.1 on UDP */
  readonly localAddress?: string;
}

type Extra = (b: StunMessageBuilder) => void;

/** One payload from a peer: its channel number or 'data' (a Data indication, with the peer). */
export interface Received {
  readonly via: number | 'data';
  readonly peer?: TransportAddress;
  readonly data: Buffer;
}

export class TurnClient {
  /** Payloads received from peers, in order. */
  readonly received: Received[] = [];
  /** Every other STUN message from the server (responses), as bytes, for byte-level assertions. */
  readonly responses: Buffer[] = [];
  private tap: FrameHandler | undefined;

  private constructor(
    readonly opts: ClientOptions,
    /** The client underneath, for what this file does not rename. */
    readonly client: Client,
  ) {
    client.onFrame((frame, direction) => {
      if (direction === 'in') this.record(frame);
      this.tap?.(frame, direction);
    });
  }

  static async open(opts: ClientOptions): Promise<TurnClient> {
    const transport = opts.transport ?? 'udp';
    const localAddress = opts.localAddress ?? (transport === 'udp' ? '127.0.0.1' : undefined);
    const client = await Client.connect({
      host: opts.host,
      port: opts.port,
      username: opts.username,
      password: opts.password,
      transport,
      insecure: true,
      timeoutMs: opts.timeoutMs ?? 2000,
      fingerprint: false,
      ...(localAddress !== undefined ? { localAddress } : {}),
    });
    return new TurnClient(opts, client);
  }

  private record(frame: Buffer): void {
    if (isChannelData(frame)) {
      const len = frame.readUInt16BE(2);
      this.received.push({ via: frame.readUInt16BE(0), data: Buffer.from(frame.subarray(4, 4 + len)) });
      return;
    }
    const m = parseStunMessage(frame);
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
    this.responses.push(Buffer.from(frame));
  }

  /** Sees every raw frame both ways (ChannelData from a stream without its padding). */
  onFrame(handler: FrameHandler): void {
    this.tap = handler;
  }

  get relayed(): TransportAddress | undefined {
    return this.client.allocation?.relayed;
  }

  get mapped(): TransportAddress | undefined {
    return this.client.allocation?.mapped;
  }

  get lifetime(): number {
    return this.client.allocation?.lifetime ?? 0;
  }

  get realm(): string | undefined {
    return this.client.realm;
  }

  get nonce(): string | undefined {
    return this.client.nonce;
  }

  set nonce(nonce: string | undefined) {
    this.client.nonce = nonce;
  }

  /** The local port toward the server. */
  get localPort(): number {
    return this.client.localAddress().port;
  }

  setCredentials(username: string, password: string): void {
    this.client.setCredentials(username, password);
  }

  sendRaw(buf: Buffer): void {
    this.client.sendRaw(buf);
  }

  /** Sends a request as it is and waits for its answer (its transaction ID is in `buf`). */
  transact(buf: Buffer, _txid?: Buffer): Promise<StunMessage> {
    return this.client.transact(buf);
  }

  request(method: number, extra?: Extra, opts?: RequestOptions): Promise<StunMessage> {
    return this.client.request(method, extra, opts);
  }

  /** Allocate with REQUESTED-TRANSPORT UDP, or the attributes `extra` writes; returns the relayed address. */
  async allocate(extra?: Extra): Promise<TransportAddress> {
    const a = await this.client.allocate(extra ? { attributes: extra } : {});
    // a TURN server must challenge before it allocates
    if (this.client.nonce === undefined) throw new Error('server allocated without authentication');
    return a.relayed;
  }

  refresh(lifetime?: number): Promise<number> {
    return this.client.refresh(lifetime);
  }

  /** Permissions for peer addresses, or bare IPv4 addresses (a permission ignores the port). */
  createPermission(...peers: (TransportAddress | string)[]): Promise<void> {
    return this.client.createPermission(
      ...peers.map((p) => (typeof p === 'string' ? { family: 4 as const, address: p, port: 0 } : p)),
    );
  }

  async channelBind(channel: number, peer: TransportAddress): Promise<void> {
    await this.client.channelBind(peer, { channel });
  }

  /** A Send indication (even when the peer has a channel). */
  send(peer: TransportAddress, data: Buffer): void {
    this.client.sendIndication(peer, data);
  }

  channelData(channel: number, data: Buffer): void {
    this.client.sendChannelData(channel, data);
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

  /** Closes the socket at once; the server keeps the allocation (tests watch it expire or go). */
  close(): void {
    void this.client.close({ release: false });
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
