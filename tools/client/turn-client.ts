/**
 * A TURN client (RFC 8656) on our codec, for turncat, `stunnerd icetest` and tests: long-term
 * credentials (401 -> retry with realm and nonce, 438 -> retry with the new nonce), Allocate with a
 * refresh timer, CreatePermission and ChannelBind kept alive, Send/Data indications and ChannelData,
 * and Refresh(0) on close; over UDP, TCP and TLS (`insecure` skips certificate checks, `servername`
 * sets SNI). Every wait is bounded: connecting, each transaction (UDP retransmits with a doubling
 * RTO), and closing.
 *
 * Tests drive the same client through a few hooks that the tools leave at their defaults: raw
 * frames both ways (`sendRaw`, `onFrame`), bare transactions (`transact`, `request` without
 * re-authentication), a chosen channel number, Allocate attributes of their own, no FINGERPRINT,
 * a source address, swapped credentials or nonce, and a close that keeps the allocation.
 */

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  Attr,
  CHANNEL_MIN,
  decodeErrorCode,
  decodeString,
  decodeXorAddress,
  isParseError,
  longTermKey,
  MessageClass,
  Method,
  methodOf,
  newTransactionId,
  parseStunMessage,
  readUint32,
  StreamFramer,
  type StunMessage,
  StunMessageBuilder,
  type TransportAddress,
} from '../../runtime/stun/index.js';

export type TurnTransport = 'udp' | 'tcp' | 'tls';

export interface TurnClientOptions {
  /** TURN server host name or IP. */
  readonly host: string;
  readonly port: number;
  /** @default 'udp' */
  readonly transport?: TurnTransport;
  readonly username: string;
  readonly password: string;
  /** TLS: do not verify the server certificate. @default false */
  readonly insecure?: boolean;
  /** TLS: server name for SNI and certificate checks. @default host, unless it is an IP */
  readonly servername?: string;
  /** TLS: extra trusted CA certificates (PEM). */
  readonly ca?: string | Buffer;
  /** Longest wait for one request's answer, retransmissions included. @default 5000 */
  readonly timeoutMs?: number;
  /** Longest wait for the TCP/TLS connection. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** First UDP retransmission timeout, doubled on each retransmission. @default 250 */
  readonly rtoMs?: number;
  /** SOFTWARE attribute. @default none */
  readonly software?: string;
  /** Adds FINGERPRINT to requests. @default true */
  readonly fingerprint?: boolean;
  /** Source address to bind (UDP, TCP and TLS). @default the system's choice */
  readonly localAddress?: string;
}

/** What a failed step was; `code` is the STUN error code or 0 when no answer came. */
export class TurnError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
    /** The request method (Method.ALLOCATE, ...). */
    readonly method: number,
    /** The realm the request was authenticated for, when known. */
    readonly realm: string | undefined,
    /** The server's answer. */
    readonly response: StunMessage,
  ) {
    super(message);
    this.name = 'TurnError';
  }
}

/** Raised when the server cannot be reached or the connection fails (no TURN answer at all). */
export class TurnUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TurnUnreachableError';
  }
}

export interface Allocation {
  readonly relayed: TransportAddress;
  readonly mapped: TransportAddress | undefined;
  readonly lifetime: number;
}

/** Called for every payload a peer sent through the relay. */
export type DataHandler = (peer: TransportAddress, data: Buffer) => void;

/**
 * Sees one raw frame (a STUN message or ChannelData, without stream padding): 'in' from the server
 * before the client handles it, 'out' as the client sends it. `frame` is valid during the call only.
 */
export type FrameHandler = (frame: Buffer, direction: 'in' | 'out') => void;

export interface RequestOptions {
  /** Answers 401 (first challenge) and 438 (stale nonce) by retrying with the new nonce. @default true */
  readonly reauthenticate?: boolean;
}

export interface AllocateOptions {
  /** LIFETIME to ask for. @default the server's */
  readonly lifetime?: number;
  /**
   * Writes the request's attributes instead of REQUESTED-TRANSPORT (UDP) and `lifetime`; for tests
   * that send unusual Allocates (credentials are still added).
   */
  readonly attributes?: (b: StunMessageBuilder) => void;
}

export interface ChannelBindOptions {
  /** The channel number to bind, sent even if the peer has a channel. @default the next free one */
  readonly channel?: number;
}

export interface CloseOptions {
  /** Longest wait for the Refresh(0). @default 2000 */
  readonly timeoutMs?: number;
  /** Deletes the allocation first (Refresh with lifetime 0); false just closes. @default true */
  readonly release?: boolean;
}

const METHOD_NAMES = new Map<number, string>([
  [Method.ALLOCATE, 'Allocate'],
  [Method.REFRESH, 'Refresh'],
  [Method.CREATE_PERMISSION, 'CreatePermission'],
  [Method.CHANNEL_BIND, 'ChannelBind'],
  [Method.BINDING, 'Binding'],
]);

export function methodName(method: number): string {
  return METHOD_NAMES.get(method) ?? `method 0x${method.toString(16)}`;
}

/** RFC 8656: permissions last 300 s and channels 600 s; refresh well before. */
const PERMISSION_REFRESH_MS = 240_000;
const CHANNEL_REFRESH_MS = 480_000;

interface Pending {
  readonly resolve: (m: StunMessage) => void;
  readonly reject: (e: Error) => void;
}

const peerKey = (p: TransportAddress): string => `${p.address}|${p.port}`;

export class TurnClient {
  #opts: TurnClientOptions;
  readonly transport: TurnTransport;
  #udp: UdpSocket | undefined;
  #stream: Socket | undefined;
  #serverAddress = '';
  readonly #pending = new Map<string, Pending>();
  #realm: string | undefined;
  #nonce: string | undefined;
  #key: Buffer | undefined;
  #allocation: Allocation | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  readonly #permissions = new Map<string, NodeJS.Timeout>();
  readonly #channels = new Map<string, { channel: number; peer: TransportAddress; timer: NodeJS.Timeout }>();
  readonly #byChannel = new Map<number, TransportAddress>();
  #nextChannel = CHANNEL_MIN;
  #closed = false;
  #closeReason: string | undefined;
  #onData: DataHandler | undefined;
  #onClose: ((reason: string) => void) | undefined;
  #onRefreshError: ((e: Error) => void) | undefined;
  #frameTap: FrameHandler | undefined;

  private constructor(opts: TurnClientOptions) {
    this.#opts = opts;
    this.transport = opts.transport ?? 'udp';
  }

  get opts(): TurnClientOptions {
    return this.#opts;
  }

  /** Opens the socket (UDP) or connection (TCP/TLS). Throws TurnUnreachableError when it cannot. */
  static async connect(opts: TurnClientOptions): Promise<TurnClient> {
    const c = new TurnClient(opts);
    await c.#open();
    return c;
  }

  get realm(): string | undefined {
    return this.#realm;
  }

  /** The nonce the next authenticated request carries; tests set one to replay it. */
  get nonce(): string | undefined {
    return this.#nonce;
  }

  set nonce(nonce: string | undefined) {
    this.#nonce = nonce;
  }

  /** Signs the following requests as another user (same 5-tuple). */
  setCredentials(username: string, password: string): void {
    this.#opts = { ...this.#opts, username, password };
    this.#key = undefined;
  }

  get allocation(): Allocation | undefined {
    return this.#allocation;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Our local transport address toward the server. */
  localAddress(): { address: string; port: number } {
    if (this.#udp) {
      const a = this.#udp.address();
      return { address: a.address, port: a.port };
    }
    return { address: this.#stream?.localAddress ?? '', port: this.#stream?.localPort ?? 0 };
  }

  onData(handler: DataHandler): void {
    this.#onData = handler;
  }

  /** The connection closed (TCP/TLS) or the client was closed; the reason says which. */
  onClose(handler: (reason: string) => void): void {
    this.#onClose = handler;
  }

  /** A background refresh (allocation, permission or channel) failed. */
  onRefreshError(handler: (e: Error) => void): void {
    this.#onRefreshError = handler;
  }

  /** Every raw frame, both ways (for tests and debugging). */
  onFrame(handler: FrameHandler): void {
    this.#frameTap = handler;
  }

  async #open(): Promise<void> {
    const { host, port } = this.opts;
    let address = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(address) === 0) {
      try {
        address = (await lookup(address)).address;
      } catch (e) {
        throw new TurnUnreachableError(`cannot resolve ${host}: ${(e as Error).message}`);
      }
    }
    this.#serverAddress = address;
    if (this.transport === 'udp') {
      const s = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
      const { localAddress } = this.opts;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        const connect = () =>
          s.connect(port, address, () => {
            s.off('error', reject);
            resolve();
          });
        if (localAddress === undefined) connect();
        else s.bind(0, localAddress, connect);
      }).catch((e: Error) => {
        s.close();
        throw new TurnUnreachableError(`cannot reach ${host}:${port}/udp: ${e.message}`);
      });
      s.on('message', (m) => this.#receive(m, 0, m.length));
      // A connected UDP socket reports ICMP port unreachable as ECONNREFUSED.
      s.on('error', (e) => this.#failAll(new TurnUnreachableError(`${host}:${port}/udp: ${e.message}`)));
      this.#udp = s;
      return;
    }
    const timeoutMs = this.opts.connectTimeoutMs ?? 5000;
    const framer = new StreamFramer(
      (b, s, e) => this.#receive(b, s, e),
      (reason) => this.#shutdown(`server sent garbage: ${reason}`),
    );
    const tls = this.transport === 'tls';
    const servername = this.opts.servername ?? (isIP(address) === 0 || isIP(host) === 0 ? host : undefined);
    const sock: Socket = tls
      ? tlsConnect({
          host: address,
          port,
          rejectUnauthorized: !(this.opts.insecure ?? false),
          ...(servername !== undefined ? { servername } : {}),
          ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
          ...(this.opts.localAddress !== undefined ? { localAddress: this.opts.localAddress } : {}),
        })
      : netConnect({
          host: address,
          port,
          ...(this.opts.localAddress !== undefined ? { localAddress: this.opts.localAddress } : {}),
        });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve();
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    }).catch((e: Error) => {
      sock.destroy();
      throw new TurnUnreachableError(`cannot connect to ${host}:${port}/${this.transport}: ${e.message}`);
    });
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => framer.push(d));
    sock.on('error', (e) => this.#shutdown(`connection error: ${e.message}`));
    sock.on('close', () => this.#shutdown('the server closed the connection'));
    this.#stream = sock;
  }

  #write(buf: Buffer): void {
    if (this.#closed) return;
    this.#frameTap?.(buf, 'out');
    if (this.#udp) this.#udp.send(buf);
    else this.#stream?.write(buf);
  }

  /** Sends bytes as they are: no framing, padding or checks (for tests: malformed frames). */
  sendRaw(frame: Buffer): void {
    this.#write(frame);
  }

  #receive(buf: Buffer, start: number, end: number): void {
    this.#frameTap?.(start === 0 && end === buf.length ? buf : buf.subarray(start, end), 'in');
    if ((buf[start]! & 0xc0) === 0x40) {
      if (end - start < 4) return;
      const ch = buf.readUInt16BE(start);
      const len = buf.readUInt16BE(start + 2);
      const peer = this.#byChannel.get(ch);
      if (peer === undefined || start + 4 + len > end) return;
      this.#onData?.(peer, buf.subarray(start + 4, start + 4 + len));
      return;
    }
    const m = parseStunMessage(buf, start, end);
    if (isParseError(m)) return;
    if (m.cls === MessageClass.INDICATION) {
      if (m.method !== Method.DATA) return;
      const pa = m.get(Attr.XOR_PEER_ADDRESS);
      const data = m.value(Attr.DATA);
      const peer = pa ? decodeXorAddress(m, pa) : undefined;
      if (peer && data) this.#onData?.(peer, data);
      return;
    }
    const p = this.#pending.get(m.transactionKey());
    if (p === undefined) return;
    this.#pending.delete(m.transactionKey());
    p.resolve(m);
  }

  /**
   * Sends a request as it is and waits for the answer with its transaction ID (retransmitting over
   * UDP), whatever its class: no authentication (for tests and Binding).
   */
  transact(request: Buffer): Promise<StunMessage> {
    if (request.length < 20) return Promise.reject(new RangeError('a STUN request has 20 bytes or more'));
    return this.#transact(request, request.subarray(8, 20), methodOf(request.readUInt16BE(0)));
  }

  /** One transaction: sends, retransmits over UDP, gives up after timeoutMs. */
  #transact(buf: Buffer, txid: Buffer, method: number): Promise<StunMessage> {
    if (this.#closed) {
      return Promise.reject(new TurnUnreachableError(this.#closeReason ?? 'the client is closed'));
    }
    const key = txid.toString('hex');
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    return new Promise<StunMessage>((resolve, reject) => {
      let rto = this.opts.rtoMs ?? 250;
      let retransmit: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(deadline);
        clearTimeout(retransmit);
        this.#pending.delete(key);
      };
      const deadline = setTimeout(() => {
        done();
        reject(
          new TurnUnreachableError(
            `no answer to ${methodName(method)} from ${this.opts.host}:${this.opts.port}/${this.transport} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const again = (): void => {
        retransmit = setTimeout(() => {
          this.#write(buf);
          rto *= 2;
          again();
        }, rto);
      };
      this.#pending.set(key, {
        resolve: (m) => {
          done();
          resolve(m);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      this.#write(buf);
      if (this.#udp) again();
    });
  }

  /**
   * An authenticated request. The first unauthenticated try is answered 401 with realm and nonce;
   * a 438 brings a new nonce. Rejects with TurnError for any other error answer (for every error
   * answer with `reauthenticate: false`; the nonce and realm it brings are kept).
   */
  async request(
    method: number,
    add: (b: StunMessageBuilder) => void = () => {},
    opts: RequestOptions = {},
  ): Promise<StunMessage> {
    const reauthenticate = opts.reauthenticate ?? true;
    const fingerprint = this.opts.fingerprint ?? true;
    let challenged = false;
    let last: StunMessage | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      const txid = newTransactionId();
      const b = new StunMessageBuilder(method, MessageClass.REQUEST, txid);
      add(b);
      if (this.opts.software !== undefined) b.addString(Attr.SOFTWARE, this.opts.software);
      let wire: Buffer;
      if (this.#nonce !== undefined && this.#realm !== undefined) {
        b.addString(Attr.USERNAME, this.opts.username)
          .addString(Attr.REALM, this.#realm)
          .addString(Attr.NONCE, this.#nonce);
        this.#key ??= longTermKey(this.opts.username, this.#realm, this.opts.password);
        wire = b.build({ integrityKey: this.#key, fingerprint });
      } else {
        wire = b.build({ fingerprint });
      }
      const res = await this.#transact(wire, txid, method);
      if (res.cls === MessageClass.SUCCESS) return res;
      const ec = res.get(Attr.ERROR_CODE);
      const err = ec ? decodeErrorCode(res, ec) : undefined;
      const code = err?.code ?? 0;
      const authenticated = this.#nonce !== undefined;
      const nonce = res.get(Attr.NONCE);
      const realm = res.get(Attr.REALM);
      if (nonce) this.#nonce = decodeString(res, nonce);
      if (realm) {
        const r = decodeString(res, realm);
        if (r !== this.#realm) this.#key = undefined;
        this.#realm = r;
      }
      last = res;
      if (reauthenticate && code === 438 && nonce) continue;
      if (reauthenticate && code === 401 && !authenticated && !challenged && nonce && realm) {
        challenged = true;
        continue;
      }
      throw new TurnError(
        `${methodName(method)} failed: ${code} ${err?.reason ?? 'error'}`,
        code,
        err?.reason ?? '',
        method,
        this.#realm,
        res,
      );
    }
    throw new TurnError(
      `${methodName(method)} failed: the server kept changing the nonce`,
      438,
      'Stale Nonce',
      method,
      this.#realm,
      last!,
    );
  }

  /** Allocates a UDP relay and keeps it alive (refresh one minute before expiry, or at half-life). */
  async allocate(opts: AllocateOptions = {}): Promise<Allocation> {
    const res = await this.request(
      Method.ALLOCATE,
      opts.attributes ??
        ((b) => {
          b.addRequestedTransport(17);
          if (opts.lifetime !== undefined) b.addUint32(Attr.LIFETIME, opts.lifetime);
        }),
    );
    const ra = res.get(Attr.XOR_RELAYED_ADDRESS);
    const relayed = ra ? decodeXorAddress(res, ra) : undefined;
    if (relayed === undefined) {
      throw new TurnError(
        'Allocate succeeded without a relayed address',
        0,
        '',
        Method.ALLOCATE,
        this.#realm,
        res,
      );
    }
    const ma = res.get(Attr.XOR_MAPPED_ADDRESS);
    const lt = res.get(Attr.LIFETIME);
    const lifetime = lt ? (readUint32(res, lt) ?? 600) : 600;
    this.#allocation = { relayed, mapped: ma ? decodeXorAddress(res, ma) : undefined, lifetime };
    this.#scheduleRefresh(lifetime);
    return this.#allocation;
  }

  #scheduleRefresh(lifetime: number): void {
    clearTimeout(this.#refreshTimer);
    if (this.#closed || lifetime <= 0) return;
    const ms = Math.max(1000, lifetime > 120 ? (lifetime - 60) * 1000 : (lifetime * 1000) / 2);
    this.#refreshTimer = setTimeout(() => {
      this.refresh().then(
        (lt) => this.#scheduleRefresh(lt),
        (e: Error) => this.#onRefreshError?.(e),
      );
    }, ms);
    this.#refreshTimer.unref();
  }

  /** Refresh; returns the granted lifetime. Lifetime 0 deletes the allocation. */
  async refresh(lifetime?: number): Promise<number> {
    const res = await this.request(Method.REFRESH, (b) => {
      if (lifetime !== undefined) b.addUint32(Attr.LIFETIME, lifetime);
    });
    const lt = res.get(Attr.LIFETIME);
    return lt ? (readUint32(res, lt) ?? 0) : 0;
  }

  /** Permissions for the peers' IP addresses, refreshed every 4 minutes until close. */
  async createPermission(...peers: TransportAddress[]): Promise<void> {
    await this.request(Method.CREATE_PERMISSION, (b) => {
      for (const p of peers) b.addXorAddress(Attr.XOR_PEER_ADDRESS, p);
    });
    for (const p of peers) {
      clearInterval(this.#permissions.get(p.address));
      const t = setInterval(() => {
        this.request(Method.CREATE_PERMISSION, (b) => b.addXorAddress(Attr.XOR_PEER_ADDRESS, p)).catch(
          (e: Error) => this.#onRefreshError?.(e),
        );
      }, PERMISSION_REFRESH_MS);
      t.unref();
      this.#permissions.set(p.address, t);
    }
  }

  /** Binds a channel to the peer (also installs its permission); returns the channel number. */
  async channelBind(peer: TransportAddress, opts: ChannelBindOptions = {}): Promise<number> {
    const key = peerKey(peer);
    const existing = this.#channels.get(key);
    if (existing && opts.channel === undefined) return existing.channel;
    let channel = opts.channel;
    if (channel === undefined) {
      while (this.#byChannel.has(this.#nextChannel)) this.#nextChannel++;
      if (this.#nextChannel > 0x4fff) throw new Error('no channel numbers left');
      channel = this.#nextChannel++;
    }
    const number = channel;
    const bind = () =>
      this.request(Method.CHANNEL_BIND, (b) =>
        b.addChannelNumber(number).addXorAddress(Attr.XOR_PEER_ADDRESS, peer),
      );
    await bind();
    if (existing) {
      clearInterval(existing.timer);
      this.#byChannel.delete(existing.channel);
    }
    const timer = setInterval(() => {
      bind().catch((e: Error) => this.#onRefreshError?.(e));
    }, CHANNEL_REFRESH_MS);
    timer.unref();
    this.#channels.set(key, { channel, peer, timer });
    this.#byChannel.set(channel, peer);
    return channel;
  }

  /** Sends a payload to a peer: ChannelData when a channel is bound, else a Send indication. */
  send(peer: TransportAddress, data: Buffer): void {
    const ch = this.#channels.get(peerKey(peer));
    if (ch !== undefined) this.sendChannelData(ch.channel, data);
    else this.sendIndication(peer, data);
  }

  /** ChannelData on a channel number, bound or not (padded to 4 bytes on TCP and TLS). */
  sendChannelData(channel: number, data: Buffer): void {
    const pad = this.#udp ? 0 : (4 - (data.length & 3)) & 3;
    const out = Buffer.allocUnsafe(4 + data.length + pad);
    out.writeUInt16BE(channel, 0);
    out.writeUInt16BE(data.length, 2);
    data.copy(out, 4);
    if (pad > 0) out.fill(0, 4 + data.length);
    this.#write(out);
  }

  /** A Send indication, even when the peer has a channel. */
  sendIndication(peer: TransportAddress, data: Buffer): void {
    const b = new StunMessageBuilder(Method.SEND, MessageClass.INDICATION, newTransactionId())
      .addXorAddress(Attr.XOR_PEER_ADDRESS, peer)
      .addBuffer(Attr.DATA, data);
    this.#write(b.build());
  }

  /**
   * Deletes the allocation (Refresh with lifetime 0, waiting at most `timeoutMs`) and closes.
   * Never throws; resolves with the reason the Refresh(0) failed, if it did. With `release: false`
   * the socket closes at once (before this returns) and the server keeps the allocation.
   */
  async close(opts: CloseOptions = {}): Promise<string | undefined> {
    if (this.#closed) return undefined;
    let failure: string | undefined;
    if (this.#allocation !== undefined && (opts.release ?? true)) {
      try {
        await Promise.race([
          this.refresh(0),
          new Promise((_, reject) =>
            setTimeout(
              () => reject(new Error(`no answer to Refresh(0) within ${opts.timeoutMs ?? 2000} ms`)),
              opts.timeoutMs ?? 2000,
            ).unref(),
          ),
        ]);
      } catch (e) {
        failure = (e as Error).message;
      }
    }
    this.#shutdown('closed');
    return failure;
  }

  #failAll(e: Error): void {
    for (const p of [...this.#pending.values()]) p.reject(e);
    this.#pending.clear();
  }

  #shutdown(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    clearTimeout(this.#refreshTimer);
    for (const t of this.#permissions.values()) clearInterval(t);
    for (const c of this.#channels.values()) clearInterval(c.timer);
    this.#permissions.clear();
    this.#channels.clear();
    this.#failAll(new TurnUnreachableError(reason));
    try {
      this.#udp?.close();
    } catch {
      // already closed
    }
    this.#stream?.destroy();
    this.#onClose?.(reason);
  }

  /** The server's resolved IP address. */
  get serverAddress(): string {
    return this.#serverAddress;
  }
}
