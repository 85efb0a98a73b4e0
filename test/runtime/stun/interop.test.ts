/**
 * Codec interop with a real peer: coturn's turnutils_stunclient sends Binding requests to a small
 * responder built on this codec, and must print the XOR-MAPPED-ADDRESS we encoded.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Attr,
  decodeErrorCode,
  decodeUnknownAttributes,
  ErrorCode,
  isParseError,
  MessageClass,
  Method,
  parseStunMessage,
  StunMessageBuilder,
  verifyFingerprint,
} from '../../../runtime/stun/index.js';

interface Seen {
  port: number;
  method: number;
  unknown: number[];
  fingerprint: string;
}

/** A Binding responder: 420 + UNKNOWN-ATTRIBUTES for unknown required attributes, else success. */
async function responder(seen: Seen[], onRequest?: () => void): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => {
    const p = parseStunMessage(m);
    if (isParseError(p) || p.cls !== MessageClass.REQUEST) return;
    const unknown = p.unknownRequired();
    seen.push({ port: r.port, method: p.method, unknown, fingerprint: verifyFingerprint(p) });
    const b =
      unknown.length > 0
        ? new StunMessageBuilder(p.method, MessageClass.ERROR, p.transactionId())
            .addErrorCode(ErrorCode.UNKNOWN_ATTRIBUTE)
            .addUnknownAttributes(unknown)
        : new StunMessageBuilder(p.method, MessageClass.SUCCESS, p.transactionId()).addXorAddress(
            Attr.XOR_MAPPED_ADDRESS,
            { family: 4, address: r.address, port: r.port },
          );
    const out = b.build({ fingerprint: true });
    // Our own answer must parse back the way a client would read it.
    const back = parseStunMessage(out);
    if (isParseError(back) || verifyFingerprint(back) !== 'ok')
      throw new Error('responder built a bad message');
    if (unknown.length > 0) {
      const e = decodeErrorCode(back, back.get(Attr.ERROR_CODE)!);
      const u = decodeUnknownAttributes(back, back.get(Attr.UNKNOWN_ATTRIBUTES)!);
      if (e?.code !== 420 || u?.join() !== unknown.join()) throw new Error('bad 420');
    }
    s.send(out, r.port, r.address);
    onRequest?.();
  });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function stunclient(args: string[], timeoutMs: number): { child: ChildProcess; done: Promise<string> } {
  let child!: ChildProcess;
  const done = new Promise<string>((resolve) => {
    child = execFile('turnutils_stunclient', args, { timeout: timeoutMs }, (_e, stdout, stderr) =>
      resolve(`${stdout}${stderr}`),
    );
  });
  return { child, done };
}

describe('interop with turnutils_stunclient', () => {
  let sock: Socket | undefined;
  afterEach(() => {
    sock?.close();
    sock = undefined;
  });

  it('reads the XOR-MAPPED-ADDRESS this codec encodes', async () => {
    const seen: Seen[] = [];
    sock = await responder(seen);
    const { done } = stunclient(['-p', String(sock.address().port), '127.0.0.1'], 5000);
    const out = await done;
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[0]!.method).toBe(Method.BINDING);
    expect(seen[0]!.unknown).toEqual([]);
    expect(out).toContain(`UDP reflexive addr: 127.0.0.1:${seen[0]!.port}`);
  });

  it('finds the RFC 5780 attributes (RESPONSE-PORT, CHANGE-REQUEST) unknown and comprehension-required', async () => {
    const seen: Seen[] = [];
    let stop: (() => void) | undefined;
    sock = await responder(seen, () => {
      if (seen.some((s) => s.unknown.length > 0)) stop?.();
    });
    const { child, done } = stunclient(['-f', '-p', String(sock.address().port), '127.0.0.1'], 5000);
    stop = () => child.kill('SIGTERM');
    const out = await done;
    expect(out).toContain(`UDP reflexive addr: 127.0.0.1:${seen[0]!.port}`);
    const withUnknown = seen.find((s) => s.unknown.length > 0);
    expect(withUnknown?.unknown).toEqual([0x0027, 0x0003]);
  });

  it('fails when nobody answers (the test can go red)', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    const port = s.address().port;
    s.close();
    const { done } = stunclient(['-p', String(port), '127.0.0.1'], 1000);
    expect(await done).not.toContain('reflexive addr');
  });
});
