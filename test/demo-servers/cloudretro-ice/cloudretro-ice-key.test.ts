/**
 * The cloudretro-ice step asks another cluster's ICE auth service with the API key (issue 22): a
 * source with `keyFile` sends the key read from that file, a service that requires a key answers
 * it, and a missing key file is an error the step reports without writing a config. The step runs
 * from its source (tsx), against a real IceAuthServer on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IceAuthServer } from '../../../runtime/ice/server.js';
import { freeTcpPort } from '../../helpers/net.js';
import { until } from '../../helpers/wait.js';
import { ephemeralGateway } from '../../runtime/ice/fixtures.js';

const KEY = 'cloudretro-api-key-0123456789abcdef';
const work = mkdtempSync(join(tmpdir(), 'cloudretro-key-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const services: IceAuthServer[] = [];
const steps: ChildProcess[] = [];
afterEach(async () => {
  for (const s of steps.splice(0)) s.kill('SIGTERM');
  for (const s of services.splice(0)) await s.close();
});

async function run(name: string, keyFile: string | undefined) {
  const ice = new IceAuthServer({ apiKey: KEY });
  services.push(ice);
  ice.setConfigs([ephemeralGateway()]);
  const a = await ice.listen(0, '127.0.0.1');
  const dir = join(work, name);
  const out: string[] = [];
  const step = spawn(process.execPath, ['--import', 'tsx', 'demo-servers/cloudretro-ice/main.ts'], {
    env: {
      ...process.env,
      POD_IP: '127.0.0.1',
      PORT: String(await freeTcpPort()),
      CLOUDRETRO_ICE_SOURCES: JSON.stringify([
        { url: `http://127.0.0.1:${a.port}`, ...(keyFile !== undefined ? { keyFile } : {}) },
      ]),
      CLOUDRETRO_CONFIG_DIR: dir,
      CLOUDRETRO_ICE_POLL_SECONDS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  steps.push(step);
  step.on('error', () => {});
  step.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  step.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  return { dir, log: () => out.join('') };
}

describe('cloudretro-ice with an API key', () => {
  it('sends the key from its keyFile and writes the config', async () => {
    const keyFile = join(work, 'key');
    writeFileSync(keyFile, `${KEY}\n`);
    const r = await run('with-key', keyFile);
    await until('a config is written', () => existsSync(join(r.dir, 'config.yaml')), 20_000);
    expect(readFileSync(join(r.dir, 'config.yaml'), 'utf8')).toContain('turn:1.2.3.4:3478');
    expect(r.log()).not.toContain(KEY);
  }, 30_000);

  it('without the key the service refuses, and the step says why; the key never appears in its log', async () => {
    const r = await run('no-key', join(work, 'no-such-key'));
    await until('the step reports the missing key', () => /API key file .*no-such-key/.test(r.log()), 20_000);
    const plain = await run('plain', undefined);
    await until('the step reports the 401', () => /401/.test(plain.log()), 20_000);
    expect(existsSync(join(r.dir, 'config.yaml'))).toBe(false);
    expect(existsSync(join(plain.dir, 'config.yaml'))).toBe(false);
  }, 30_000);
});
