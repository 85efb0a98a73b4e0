/**
 * Scripted TURN conversations for the differential tier: a small client (UDP over IPv4 or IPv6,
 * TCP, TLS) that sends exactly the requests a script asks for, authenticated or not, and records
 * every answer as a comparable summary: class, error code, which attributes are present, LIFETIME,
 * the family of the relayed address, and whether relayed data came back. The same script runs
 * against STUNner's stunnerd and ours; the test compares the two records step by step.
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

const ATTR_NAMES = new Map<number, string>(Object.entries(Attr).map(([k, v]) => [v, k]));
const attrName = (t: number) => ATTR_NAMES.get(t) ?? `0x${t.toString(16).padStart(4, '0')}`;

/** One answer (or its absence), reduced to the fields the comparison looks at. */
export interface Answer {
  /** success, error, or none (no answer within the wait). */
  readonly cls: 'success' | 'error' | 'none';
  readonly code?: number;
  /** Attribute types present, by name, sorted, duplicates kept once. */
  readonly attrs?: readonly string[];
  readonly lifetime?: number;
  /** Family of XOR-RELAYED-ADDRESS (Allocate answers). */
  readonly relayedFamily?: number;
  /** UNKNOWN-ATTRIBUTES listed (420 answers). */
  readonly unknown?: readonly string[];
}

/** A step's outcome: an answer to a request, or an observation (relayed data seen or not). */
export type Outcome = Answer | { readonly observed: string };

export interface Step {
  readonly step: string;
  readonly outcome: Outcome;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp' | 'tls';
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** How a request authenticates. */
export type Auth =
  | 'none'
  /** USERNAME, REALM and NONCE as last learned, MESSAGE-INTEGRITY with the right key. */
  | 'valid'
  | {
      readonly username?: string;
      readonly password?: string;
      readonly realm?: string;
      readonly nonce?: string;
      /** Flip one bit of the MESSAGE-INTEGRITY HMAC. */
      readonly badHmac?: boolean;
    };

type Extra = (b: StunMessageBuilder) => void;

export function summarize(m: StunMessage): Answer {
  const names = [...new Set(m.attributes.map((a) => attrName(a.type)))].sort();
  const out: {
    cls: Answer['cls'];
    code?: number;
    attrs: string[];
    lifetime?: number;
    relayedFamily?: number;
    unknown?: string[];
  } = { cls: m.cls === MessageClass.SUCCESS ? 'success' : 'error', attrs: names };
  const ec = m.get(Attr.ERROR_CODE);
  if (ec) out.code = decodeErrorCode(m, ec)?.code ?? -1;
  const lt = m.get(Attr.LIFETIME);
  if (lt) out.lifetime = readUint32(m, lt) ?? -1;
  const ra = m.get(Attr.XOR_RELAYED_ADDRESS);
  if (ra) out.relayedFamily = decodeXorAddress(m, ra)?.family ?? -1;
  const ua = m.get(Attr.UNKNOWN_ATTRIBUTES);
  if (ua) {
    const v = m.buf.subarray(ua.offset, ua.offset + ua.length);
    const list: string[] = [];
    for (let i = 0; i + 1 < v.length; i += 2) list.push(attrName(v.readUInt16BE(i)));
    out.unknown = list.sort();
  }
  return out;
}

/** A scripted client: one transport connection (or UDP socket), one conversation. */
export class ScriptClient {
  private udp: UdpSocket | undefined;
  private stream: Socket | undefined;
  private readonly waiting = new Map<string, (m: StunMessage) => void>();
  nonce: string | undefined;
  realm: string | undefined;
  relayed: TransportAddress | undefined;
  /** Relayed payloads received: via channel number or 'data'. */
  readonly received: { via: number | 'data'; data: Buffer }[] = [];
  readonly steps: Step[] = [];

  private constructor(
    readonly server: Endpoint,
    readonly creds: Credentials,
    readonly waitMs: number,
  ) {}

  static async open(server: Endpoint, creds: Credentials, waitMs = 1500): Promise<ScriptClient> {
    const c = new ScriptClient(server, creds, waitMs);
    await c.connect();
    return c;
  }

  private async connect(): Promise<void> {
    const { host, port, transport } = this.server;
    if (transport === 'udp') {
      const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((r) => s.bind(0, host, r));
      s.on('message', (m) => this.onPacket(m));
      this.udp = s;
      return;
    }
    const framer = new StreamFramer(
      (b, s, e) => this.onPacket(Buffer.from(b.subarray(s, e))),
      () => this.stream?.destroy(),
    );
    const sock =
      transport === 'tls'
        ? tlsConnect({ host, port, rejectUnauthorized: false, servername: 'localhost' })
        : netConnect({ host, port });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${transport} connection to ${host}:${port}`)), 5000);
      sock.once(transport === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(t);
        resolve();
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    sock.on('data', (d: Buffer) => framer.push(d));
    sock.on('error', () => {});
    this.stream = sock;
  }

  sendRaw(buf: Buffer): void {
    if (this.udp) this.udp.send(buf, this.server.port, this.server.host);
    else this.stream?.write(buf);
  }

  private onPacket(buf: Buffer): void {
    if (buf.length >= 4 && (buf[0]! & 0xc0) === 0x40) {
      const len = buf.readUInt16BE(2);
      this.received.push({ via: buf.readUInt16BE(0), data: Buffer.from(buf.subarray(4, 4 + len)) });
      return;
    }
    const m = parseStunMessage(buf, 0, buf.length);
    if (isParseError(m)) return;
    if (m.cls === MessageClass.INDICATION && m.method === Method.DATA) {
      const d = m.value(Attr.DATA);
      if (d) this.received.push({ via: 'data', data: Buffer.from(d) });
      return;
    }
    const w = this.waiting.get(m.transactionKey());
    if (w) {
      this.waiting.delete(m.transactionKey());
      w(m);
    }
  }

  /** Sends raw bytes as a request with this transaction id; the answer, or undefined after waitMs. */
  async transact(buf: Buffer, txid: Buffer, waitMs = this.waitMs): Promise<StunMessage | undefined> {
    const key = txid.toString('hex');
    return new Promise<StunMessage | undefined>((resolve) => {
      const resend = this.udp ? setInterval(() => this.sendRaw(buf), 300) : undefined;
      const deadline = setTimeout(() => {
        clearInterval(resend);
        this.waiting.delete(key);
        resolve(undefined);
      }, waitMs);
      this.waiting.set(key, (m) => {
        clearInterval(resend);
        clearTimeout(deadline);
        resolve(m);
      });
      this.sendRaw(buf);
    });
  }

  /** Builds, sends and records one request. */
  async req(
    step: string,
    method: number,
    extra: Extra,
    auth: Auth = 'valid',
  ): Promise<StunMessage | undefined> {
    const txid = newTransactionId();
    const b = new StunMessageBuilder(method, MessageClass.REQUEST, txid);
    extra(b);
    let buf: Buffer;
    if (auth === 'none') {
      buf = b.build();
    } else {
      const o = auth === 'valid' ? {} : auth;
      const username = o.username ?? this.creds.username;
      const realm = o.realm ?? this.realm ?? '';
      const nonce = o.nonce ?? this.nonce ?? '';
      b.addString(Attr.USERNAME, username).addString(Attr.REALM, realm).addString(Attr.NONCE, nonce);
      buf = b.build({ integrityKey: longTermKey(username, realm, o.password ?? this.creds.password) });
      if (o.badHmac) buf[buf.length - 1]! ^= 0x01;
    }
    const m = await this.transact(buf, txid);
    this.record(step, m);
    return m;
  }

  /** Records an answer (undefined: none) and learns NONCE, REALM and the relayed address from it. */
  record(step: string, m: StunMessage | undefined): void {
    if (!m) {
      this.steps.push({ step, outcome: { cls: 'none' } });
      return;
    }
    const n = m.get(Attr.NONCE);
    if (n) this.nonce = decodeString(m, n);
    const r = m.get(Attr.REALM);
    if (r) this.realm = decodeString(m, r);
    const ra = m.get(Attr.XOR_RELAYED_ADDRESS);
    if (ra) this.relayed = decodeXorAddress(m, ra);
    this.steps.push({ step, outcome: summarize(m) });
  }

  observe(step: string, observed: string): void {
    this.steps.push({ step, outcome: { observed } });
  }

  /** The unauthenticated Allocate that fetches REALM and NONCE, then the authenticated one. */
  async allocate(prefix = 'allocate', extra: Extra = (b) => b.addRequestedTransport(17)): Promise<void> {
    await this.req(`${prefix} (no credentials)`, Method.ALLOCATE, extra, 'none');
    await this.req(`${prefix} (credentials)`, Method.ALLOCATE, extra);
  }

  channelData(channel: number, data: Buffer): void {
    const pad = this.udp ? 0 : (4 - (data.length & 3)) & 3;
    const out = Buffer.alloc(4 + data.length + pad);
    out.writeUInt16BE(channel, 0);
    out.writeUInt16BE(data.length, 2);
    data.copy(out, 4);
    this.sendRaw(out);
  }

  sendIndication(peer: TransportAddress, data: Buffer): void {
    this.sendRaw(
      new StunMessageBuilder(Method.SEND, MessageClass.INDICATION, newTransactionId())
        .addXorAddress(Attr.XOR_PEER_ADDRESS, peer)
        .addBuffer(Attr.DATA, data)
        .build(),
    );
  }

  /** Waits (bounded) for a relayed payload equal to `data`; records 'echoed' or 'nothing'. */
  async expectEcho(step: string, data: Buffer, waitMs = 1000): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const hit = this.received.find((r) => r.data.equals(data));
      if (hit) {
        this.observe(step, `echoed via ${hit.via === 'data' ? 'Data indication' : 'channel'}`);
        return true;
      }
      if (Date.now() > deadline) {
        this.observe(step, 'nothing');
        return false;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
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
