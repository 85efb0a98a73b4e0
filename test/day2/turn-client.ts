/**
 * A minimal TURN-over-UDP client for the day-2 tests, built on the runtime's STUN codec:
 * Allocate (401 challenge, then long-term credentials), CreatePermission, ChannelBind,
 * ChannelData, Refresh. Requests retransmit; everything is bounded in time.
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  Attr,
  CHANNEL_DATA_HEADER_LENGTH,
  decodeErrorCode,
  decodeString,
  decodeXorAddress,
  isChannelData,
  isParseError,
  longTermKey,
  MessageClass,
  Method,
  newTransactionId,
  parseStunMessage,
  type StunMessage,
  StunMessageBuilder,
  Transport,
  type TransportAddress,
  writeChannelDataHeader,
} from '../../runtime/stun/index.js';

export class TurnError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

export interface ServerAddr {
  readonly host: string;
  readonly port: number;
}

export class UdpTurnClient {
  private readonly sock: Socket;
  private readonly pending = new Map<string, (m: StunMessage) => void>();
  private realm = '';
  private nonce = '';
  private key: Buffer | undefined;
  relay: TransportAddress | undefined;
  /** ChannelData payloads received, per channel. */
  readonly received = new Map<number, Buffer[]>();

  private constructor(
    sock: Socket,
    readonly server: ServerAddr,
    private readonly username: string,
    private readonly password: string,
  ) {
    this.sock = sock;
    sock.on('message', (buf) => this.onMessage(buf));
  }

  static async open(server: ServerAddr, username: string, password: string): Promise<UdpTurnClient> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    return new UdpTurnClient(sock, server, username, password);
  }

  close(): void {
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }

  count(channel: number): number {
    return this.received.get(channel)?.length ?? 0;
  }

  async allocate(lifetime = 600): Promise<TransportAddress> {
    const first = await this.request(
      Method.ALLOCATE,
      (b) => b.addRequestedTransport(Transport.UDP).addUint32(Attr.LIFETIME, lifetime),
      false,
    );
    if (first.cls === MessageClass.SUCCESS) throw new Error('server allocated without authentication');
    const err = errorOf(first);
    if (err?.code !== 401)
      throw new TurnError(`Allocate: expected 401, got ${err?.code} ${err?.reason}`, err?.code);
    this.realm = stringAttr(first, Attr.REALM);
    this.nonce = stringAttr(first, Attr.NONCE);
    this.key = longTermKey(this.username, this.realm, this.password);
    const res = await this.authed(Method.ALLOCATE, (b) =>
      b.addRequestedTransport(Transport.UDP).addUint32(Attr.LIFETIME, lifetime),
    );
    const attr = res.get(Attr.XOR_RELAYED_ADDRESS);
    const relay = attr && decodeXorAddress(res, attr);
    if (!relay) throw new Error('Allocate success without XOR-RELAYED-ADDRESS');
    this.relay = relay;
    return relay;
  }

  async createPermission(peerIp: string): Promise<void> {
    await this.authed(Method.CREATE_PERMISSION, (b) =>
      b.addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 4, address: peerIp, port: 0 }),
    );
  }

  async channelBind(channel: number, peer: TransportAddress): Promise<void> {
    await this.authed(Method.CHANNEL_BIND, (b) =>
      b.addChannelNumber(channel).addXorAddress(Attr.XOR_PEER_ADDRESS, peer),
    );
  }

  async refresh(lifetime: number): Promise<void> {
    await this.authed(Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, lifetime));
  }

  sendChannel(channel: number, data: Buffer): void {
    const pad = (4 - (data.length % 4)) % 4;
    const frame = Buffer.alloc(CHANNEL_DATA_HEADER_LENGTH + data.length + pad);
    writeChannelDataHeader(frame, 0, channel, data.length);
    data.copy(frame, CHANNEL_DATA_HEADER_LENGTH);
    this.sock.send(frame, this.server.port, this.server.host);
  }

  /** An authenticated request; retries once on 438 Stale Nonce. Throws TurnError on an error response. */
  private async authed(
    method: number,
    add: (b: StunMessageBuilder) => StunMessageBuilder,
  ): Promise<StunMessage> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.request(method, add, true);
      if (res.cls === MessageClass.SUCCESS) return res;
      const err = errorOf(res);
      if (err?.code === 438 && attempt === 0) {
        this.nonce = stringAttr(res, Attr.NONCE);
        continue;
      }
      throw new TurnError(`${methodName(method)}: ${err?.code} ${err?.reason}`, err?.code);
    }
    throw new Error('unreachable');
  }

  private request(
    method: number,
    add: (b: StunMessageBuilder) => StunMessageBuilder,
    auth: boolean,
  ): Promise<StunMessage> {
    const txid = newTransactionId();
    const b = add(new StunMessageBuilder(method, MessageClass.REQUEST, txid));
    if (auth)
      b.addString(Attr.USERNAME, this.username)
        .addString(Attr.REALM, this.realm)
        .addString(Attr.NONCE, this.nonce);
    const buf = b.build(
      auth && this.key ? { integrityKey: this.key, fingerprint: true } : { fingerprint: true },
    );
    const key = txid.toString('hex');
    return new Promise<StunMessage>((resolve, reject) => {
      let tries = 0;
      let timer: NodeJS.Timeout;
      const send = () => {
        if (tries++ >= 6) {
          this.pending.delete(key);
          reject(
            new TurnError(
              `${methodName(method)}: no response from ${this.server.host}:${this.server.port}`,
              undefined,
            ),
          );
          return;
        }
        this.sock.send(buf, this.server.port, this.server.host);
        timer = setTimeout(send, 250);
      };
      this.pending.set(key, (m) => {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(m);
      });
      send();
    });
  }

  private onMessage(buf: Buffer): void {
    if (isChannelData(buf)) {
      const ch = buf.readUInt16BE(0);
      const len = buf.readUInt16BE(2);
      let list = this.received.get(ch);
      if (!list) {
        list = [];
        this.received.set(ch, list);
      }
      list.push(Buffer.from(buf.subarray(4, 4 + len)));
      return;
    }
    const m = parseStunMessage(buf);
    if (isParseError(m)) return;
    this.pending.get(m.transactionKey())?.(m);
  }
}

function errorOf(m: StunMessage): { code: number; reason: string } | undefined {
  const a = m.get(Attr.ERROR_CODE);
  return a ? decodeErrorCode(m, a) : undefined;
}

function stringAttr(m: StunMessage, type: number): string {
  const a = m.get(type);
  const s = a && decodeString(m, a);
  if (s === undefined) throw new Error(`response lacks attribute 0x${type.toString(16)}`);
  return s;
}

function methodName(m: number): string {
  return (
    {
      [Method.ALLOCATE]: 'Allocate',
      [Method.CREATE_PERMISSION]: 'CreatePermission',
      [Method.CHANNEL_BIND]: 'ChannelBind',
      [Method.REFRESH]: 'Refresh',
    }[m] ?? `method ${m}`
  );
}

/** A UDP echo peer on loopback: what relayed media reaches. */
export class EchoPeer {
  private constructor(
    readonly sock: Socket,
    readonly address: string,
    readonly port: number,
  ) {}
  /** Datagrams received. */
  received = 0;

  static async open(address = '127.0.0.1'): Promise<EchoPeer> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, address, resolve);
    });
    const p = new EchoPeer(sock, address, sock.address().port);
    sock.on('message', (m, rinfo) => {
      p.received++;
      sock.send(m, rinfo.port, rinfo.address);
    });
    return p;
  }

  close(): void {
    this.sock.close();
  }
}
