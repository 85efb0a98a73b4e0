/** The stunnerd CLI: bad configs print every problem and exit 1; the one-line turn:// form serves. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/net.js';
import { STUNNERD_BIN, spawnStunnerd } from '../../helpers/stunnerd.js';
import { TurnClient, UdpPeer } from '../../helpers/turn-client.js';

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [STUNNERD_BIN, ...args], { timeout: 40_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('stunnerd CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stunnerd-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints every problem of a bad config as path: reason lines and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'version: v1',
        'auth:',
        '  type: static',
        '  credentials: { username: u }',
        'listeners:',
        '  - name: l1',
        '    port: 70000',
        '    routes: [nowhere]',
        '  - name: l2',
        '    protocol: QUIC',
        '',
      ].join('\n'),
    );
    const r = await runCli(['-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/listeners\[0\]\.port: .*70000/);
    expect(r.stderr).toMatch(/listeners\[0\]\.routes\[0\]: no cluster named "nowhere"/);
    expect(r.stderr).toMatch(/listeners\[1\]\.protocol: .*QUIC/);
    expect(r.stderr).toMatch(/auth\.credentials\.password: is required/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toMatch(/stunnerd ready/);
  });

  it('refuses TURN-DTLS with a clear config error', async () => {
    const file = join(dir, 'dtls.json');
    const pem = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString(
      'base64',
    );
    await writeFile(
      file,
      JSON.stringify({
        version: 'v1',
        auth: { credentials: { username: 'u', password: 'p' } },
        listeners: [{ name: 'd', protocol: 'TURN-DTLS', port: await freePort(), cert: pem, key: pem }],
      }),
    );
    const r = await runCli(['-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/listeners\[0\]\.protocol: TURN-DTLS is not supported by this runtime yet/);
  });

  it('rejects a bad log level, a missing file and unknown arguments', async () => {
    const [a, b, c, d] = await Promise.all([
      runCli(['turn://u:p@127.0.0.1:3478', '-l', 'all:LOUD']),
      runCli(['-c', join(dir, 'missing.yaml')]),
      runCli(['--frobnicate']),
      runCli(['turn://:p@127.0.0.1:3478']),
    ]);
    // Usage errors (a bad value, an unknown flag) exit 2, as in every tool (docs/cli.md, issue 27).
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/-l: "all:LOUD" is not a valid log level/);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/missing\.yaml/);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/unknown option --frobnicate/);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/uri\.username: is required/);
  });

  it('serves the one-line turn:// form (UDP and TCP) and relays, but not to loopback (issue 15)', async () => {
    const port = await freePort();
    const loopback = await UdpPeer.open(true);
    // Allow-any admits no loopback peer; a peer on this host's LAN address (when it has one) relays.
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    const peer = lan === undefined ? undefined : await UdpPeer.open(true, lan);
    for (const transport of ['udp', 'tcp'] as const) {
      const uri = `turn://alice:s3cret@127.0.0.1:${port}${transport === 'tcp' ? '?transport=tcp' : ''}`;
      const rt = await spawnStunnerd([uri, '-l', 'all:WARN,turn:INFO']);
      try {
        expect(rt.output()).toMatch(/stunnerd ready/);
        const c = await TurnClient.open({
          host: '127.0.0.1',
          port,
          username: 'alice',
          password: 's3cret',
          transport,
        });
        await c.allocate();
        await expect(c.createPermission(loopback.address)).rejects.toMatchObject({ code: 403 });
        if (peer !== undefined) {
          await c.createPermission(peer.address);
          c.send(peer.address, Buffer.from(`via ${transport}`));
          await c.waitReceived(1, 3000);
          expect(c.received[0]!.data.toString()).toBe(`via ${transport}`);
        }
        c.close();
      } finally {
        expect(await rt.stop('SIGINT')).toBe(0);
      }
    }
    expect(loopback.got).toHaveLength(0);
    loopback.close();
    peer?.close();
  }, 60_000);

  it('relays the one-liner to a loopback peer with --route, and warns when it is an open relay (issue 27)', async () => {
    const port = await freePort();
    const peer = await UdpPeer.open(true);
    const routed = await spawnStunnerd([
      `turn://alice:s3cret@127.0.0.1:${port}`,
      '--route',
      `127.0.0.1/32:${peer.address.port}`,
      '-l',
      'all:WARN',
    ]);
    try {
      expect(routed.output()).not.toMatch(/open relay|relay is open/);
      const c = await TurnClient.open({
        host: '127.0.0.1',
        port,
        username: 'alice',
        password: 's3cret',
        transport: 'udp',
      });
      await c.allocate();
      await c.createPermission(peer.address);
      c.send(peer.address, Buffer.from('routed'));
      await c.waitReceived(1, 3000);
      expect(c.received[0]!.data.toString()).toBe('routed');
      c.close();
    } finally {
      expect(await routed.stop('SIGINT')).toBe(0);
      peer.close();
    }
    const open = await spawnStunnerd([`turn://alice:s3cret@127.0.0.1:${port}`, '-l', 'all:WARN']);
    try {
      expect(open.output()).toMatch(/stunnerd: warning: this relay is open: .*--route/);
    } finally {
      await open.stop('SIGINT');
    }
  }, 60_000);

  it('runs a gateway of the synthesized YAML: -c file://<dist YAML>#<gateway>, --local, --secret-file', async () => {
    const dist = new URL('../../../dist/eu-west/simple-tunnel.k8s.yaml', import.meta.url).pathname;
    // Plain, it names the Secret its credentials come from and what to pass.
    const noSecret = await runCli(['-c', `file://${dist}#udp-gateway`, '--local']);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/takes its credentials from Secret .*--secret-file/);
    const several = await runCli([
      '-c',
      new URL('../../../dist/eu-west/direct-call.k8s.yaml', import.meta.url).pathname,
    ]);
    expect(several.code).toBe(2);
    expect(several.stderr).toMatch(/holds 2 gateways; name one after '#'/);
    expect(several.stderr).not.toMatch(/parseAllDocuments/);
  });
});
