/**
 * Text a server sends is printed safely: a fake TURN server on loopback puts ESC, BEL and C1
 * controls in its REALM and reason phrases, and a fake runtime puts them in its /status; turncat,
 * icetest and stunnerctl print what they say about it without any control character (an escape
 * sequence could recolour, retitle or rewrite the user's terminal; a newline could forge a line).
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printable, printableLines } from '../../runtime/log/printable.js';
import {
  Attr,
  isParseError,
  MessageClass,
  parseStunMessage,
  StunMessageBuilder,
} from '../../runtime/stun/index.js';
import { main as icetest } from '../../tools/icetest/icetest.js';
import { main as stunnerctl } from '../../tools/stunnerctl/stunnerctl.js';
import { main as turncat } from '../../tools/turncat/turncat.js';

// an OSC title change ended by BEL, a CSI screen clear, a C1 CSI, DEL, and a forged line
const REALM = 'evil\x1b]0;pwned\x07realm';
const REASON = 'Nope\x1b[2J\x9b31m\x7f\nturncat: all good';
/** The raw control characters of the payloads: none may be printed. */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

/** Answers every request with 401 (realm, nonce); once authenticated, with `code` and REASON. */
async function fakeTurnServer(code: 401 | 403): Promise<{ port: number; close: () => Promise<void> }> {
  const sock: Socket = createSocket('udp4');
  sock.on('error', () => {});
  sock.on('message', (buf, from) => {
    const m = parseStunMessage(buf);
    if (isParseError(m) || m.cls !== MessageClass.REQUEST) return;
    const txid = buf.subarray(8, 20);
    const authed = m.get(Attr.USERNAME) !== undefined;
    const b = new StunMessageBuilder(m.method, MessageClass.ERROR, Buffer.from(txid))
      .addErrorCode(authed ? code : 401, authed ? REASON : `Unauthorized\x1b[5m`)
      .addString(Attr.REALM, REALM)
      .addString(Attr.NONCE, 'nonce-1');
    sock.send(b.build({ fingerprint: true }), from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, close: () => new Promise((r) => sock.close(() => r())) };
}

function sink() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return { stream, text: () => text };
}

describe('printable', () => {
  it('escapes every C0, DEL and C1 control visibly, and keeps the rest', () => {
    expect(printable('a\x1b[31mb\x07c\x9bd\x7fe\nf\tg\u00e9\u2603')).toBe(
      'a\\u001b[31mb\\u0007c\\u009bd\\u007fe\\u000af\\u0009g\u00e9\u2603',
    );
    expect(printableLines('one\x1b\ntwo\r\n')).toBe('one\\u001b\ntwo\\u000d\n');
    // JSON stays JSON: the escapes are JSON's
    const json = printableLines(JSON.stringify({ r: REASON }));
    expect(json).not.toMatch(CONTROL);
    expect(JSON.parse(json)).toEqual({ r: REASON });
  });
});

describe('server text reaches the terminal without control characters', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const code of [401, 403] as const) {
    it(`turncat: a ${code} with ESC in its REALM and reason`, async () => {
      const srv = await fakeTurnServer(code);
      try {
        const stdout = sink();
        const stderr = sink();
        const exit = await turncat(
          ['--timeout', '2000', '-', `turn://user:pass@127.0.0.1:${srv.port}`, 'udp://127.0.0.1:9'],
          { stdin: new PassThrough(), stdout: stdout.stream, stderr: stderr.stream },
          { signals: false },
        );
        expect(exit).toBe(1);
        const err = stderr.text();
        expect(err).not.toMatch(CONTROL);
        expect(err.trim().split('\n')).toHaveLength(1);
        // the server's text is still there, escaped
        expect(err).toContain(
          code === 401 ? 'realm "evil\\u001b]0;pwned\\u0007realm"' : '(403 Nope\\u001b[2J',
        );
        expect(err).toContain('\\u009b31m\\u007f\\u000aturncat: all good');
      } finally {
        await srv.close();
      }
    }, 15_000);
  }

  it('icetest: a 401 with ESC in its REALM and reason, as text and JSON', async () => {
    const srv = await fakeTurnServer(401);
    const file = join(dir, 'gw.json');
    await writeFile(
      file,
      JSON.stringify({
        version: 'v1',
        admin: { name: 'ns/gw', healthcheck_endpoint: '' },
        auth: { type: 'static', credentials: { username: 'user', password: 'pass' } },
        listeners: [
          { name: 'ns/gw/udp', protocol: 'TURN-UDP', address: '127.0.0.1', port: srv.port, routes: ['ns/c'] },
        ],
        clusters: [{ name: 'ns/c', endpoints: ['127.0.0.1/32'] }],
      }),
    );
    try {
      for (const output of ['text', 'json']) {
        const stdout = sink();
        const stderr = sink();
        const exit = await icetest(['-c', file, '-n', '1', '--timeout', '2000', '-o', output], {
          stdout: stdout.stream,
          stderr: stderr.stream,
        });
        expect(exit).toBe(1);
        expect(stdout.text() + stderr.text()).not.toMatch(CONTROL);
        if (output === 'json') {
          const report = JSON.parse(stdout.text()) as { results: { message: string }[] };
          expect(report.results[0]!.message).toContain(REALM);
        } else expect(stdout.text()).toContain('evil\\u001b]0;pwned\\u0007realm');
      }
    } finally {
      await srv.close();
    }
  }, 20_000);

  it('stunnerctl config --url: a /status with ESC and C1 in its names, or in a realm it refuses', async () => {
    let status: Record<string, unknown> = {};
    const srv: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(status));
    });
    srv.on('clientError', (_e, s) => s.destroy());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const ctl = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const exit = await stunnerctl([...argv, '--url', `http://127.0.0.1:${port}`], {
        out: (s) => out.push(s),
        err: (s) => err.push(s),
      });
      return { exit, out: out.join(''), err: err.join('') };
    };
    const doc = (realm: string) => ({
      admin: { name: 'ns/gw\x1b[8m' },
      auth: { type: 'static', realm },
      listeners: [
        { name: 'ns/gw/udp\x9b2J', protocol: 'TURN-UDP', address: '127.0.0.1', port: 3478, routes: [] },
      ],
      clusters: [],
    });
    try {
      status = doc('stunner.l7mp.io');
      const ok = await ctl('config');
      expect(ok.exit, ok.err).toBe(0);
      expect(ok.out + ok.err).not.toMatch(CONTROL);
      expect(ok.out).toContain('ns/gw\\u001b[8m');
      expect(ok.out).toContain('udp\\u009b2J');
      const json = await ctl('config', '-o', 'json');
      expect(json.out).not.toMatch(CONTROL);
      // still valid JSON, carrying the same name
      const [view] = JSON.parse(json.out) as { config: { listeners: { name: string }[] } }[];
      expect(view!.config.listeners[0]!.name).toBe('ns/gw/udp\x9b2J');
      status = doc(REALM);
      const bad = await ctl('config');
      expect(bad.exit).toBe(1);
      expect(bad.err).toMatch(/auth\.realm/);
      expect(bad.out + bad.err).not.toMatch(CONTROL);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  }, 15_000);
});
