/**
 * The soak's CI version (about 60 s): 1,000 allocations with ChannelData both ways (1 packet/s per
 * allocation each way), 20 s of warm-up then 35 s measured: RSS grows less than 5 %, descriptors
 * stay put, (nearly) nothing is lost. `npm run soak` is the 10-minute version (bench/soak.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../bench/servers.js';
import { freeUdpPort, stunnerd } from '../../bench/servers.js';
import { describeSoak, runSoak, soakProblems } from '../../bench/soak.js';

describe('soak (CI version)', () => {
  let server: ServerHandle;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'soak-'));
    server = await stunnerd().start(await freeUdpPort(), tmp);
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('~60 s soak: 1,000 allocations with traffic, RSS growth < 5 % after warm-up, descriptors stable', async () => {
    const r = await runSoak(server, { allocations: 1000, rate: 1, warmupMs: 20_000, durationMs: 35_000 });
    console.log(describeSoak(r, 1));
    expect(soakProblems(r, 1000)).toEqual([]);
  }, 120_000);
});
