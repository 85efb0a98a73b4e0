/**
 * The layer rules (.dependency-cruiser.cjs) hold for the tree, and they are live: a planted
 * violation of each kind turns the check red (including runtime/'s own layers: a lower layer
 * importing a higher one, transport/ importing policy/, and sockets in the ICE client), and tools/'s
 * (the runtime or a construct importing a tool, the pods' icetest reaching a gateway source or
 * another tool, a tool reaching the relay).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const FOLDERS = [
  'contract',
  'runtime',
  'tools',
  'constructs',
  'demo-servers',
  'build',
  'charts-ts',
  'examples',
  'bin',
  'bench',
  'test',
];

function cruise(cwd: string, folders: readonly string[]) {
  const r = spawnSync(process.execPath, [CLI, ...folders, '--config', CONFIG, '--output-type', 'err'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('layers', () => {
  it('hold for the whole tree: no cycles, contract at the bottom, runtime and constructs apart', () => {
    const r = cruise(ROOT, FOLDERS);
    expect(r.out).not.toMatch(/error/);
    expect(r.status).toBe(0);
  });

  const planted = mkdtempSync(join(tmpdir(), 'layers-'));
  afterAll(() => rmSync(planted, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(planted, file)), { recursive: true });
    writeFileSync(join(planted, file), text);
  };

  it('go red on a planted violation of each rule', () => {
    write(
      'runtime/relay.ts',
      "import { limit } from '../contract/limits.js';\nexport const relay = limit;\n",
    );
    write('contract/limits.ts', "export const limit = 1;\nimport '../runtime/relay.js';\n");
    write('contract/net.ts', "import { isIP } from 'node:net';\nexport const v = isIP('::1');\n");
    write('constructs/gateway.ts', "import { relay } from '../runtime/relay.js';\nexport const g = relay;\n");
    write(
      'runtime/uses-construct.ts',
      "import { g } from '../constructs/gateway.js';\nexport const u = g;\n",
    );
    write('charts-ts/main.ts', "import { relay } from '../runtime/relay.js';\nexport const m = relay;\n");
    // Inside runtime/: a lower layer importing a higher one, and a sibling importing its sibling.
    write('runtime/relay/relay.ts', 'export class Relay {}\n');
    write('runtime/turn/server.ts', "import { Relay } from '../relay/relay.js';\nexport const s = Relay;\n");
    write('runtime/transport/listener.ts', "import { q } from '../policy/quota.js';\nexport const l = q;\n");
    write('runtime/policy/quota.ts', 'export const q = 1;\n');
    write(
      'runtime/ice/client.ts',
      "import { createSocket } from 'node:dgram';\nexport const c = createSocket;\n",
    );
    // A demo server may use the ICE client, but no other runtime module and no construct; the
    // constructs read the demo servers' built bytes, never their code.
    write(
      'demo-servers/app/main.ts',
      [
        "import { c } from '../../runtime/ice/client.js';",
        "import { relay } from '../../runtime/relay.js';",
        "import { g } from '../../constructs/gateway.js';",
        'export const a = [c, relay, g];',
        '',
      ].join('\n'),
    );
    write('constructs/demo.ts', "import { a } from '../demo-servers/app/main.js';\nexport const d = a;\n");
    // tools/: above runtime/, apart from the constructs; the pods' program carries icetest only.
    write('tools/stunnerctl/stunnerctl.ts', 'export const ctl = 1;\n');
    write('tools/sources/files.ts', 'export const files = 1;\n');
    write(
      'runtime/uses-tool.ts',
      "import { ctl } from '../tools/stunnerctl/stunnerctl.js';\nexport const t = ctl;\n",
    );
    write(
      'constructs/uses-tool.ts',
      "import { ctl } from '../tools/stunnerctl/stunnerctl.js';\nexport const t = ctl;\n",
    );
    write(
      'tools/icetest/icetest.ts',
      "import { files } from '../sources/files.js';\nimport { ctl } from '../stunnerctl/stunnerctl.js';\nexport const i = [files, ctl];\n",
    );
    write('tools/pod-main.ts', "import { ctl } from './stunnerctl/stunnerctl.js';\nexport const p = ctl;\n");
    write(
      'tools/client/turn-client.ts',
      "import { Relay } from '../../runtime/relay/relay.js';\nexport const c = Relay;\n",
    );
    const r = cruise(planted, ['contract', 'runtime', 'tools', 'constructs', 'charts-ts', 'demo-servers']);
    expect(r.status).not.toBe(0);
    for (const rule of [
      'no-cycles',
      'contract-imports-nothing-of-ours',
      'contract-has-no-networking',
      'constructs-never-import-runtime',
      'runtime-never-imports-constructs',
      'charts-use-the-library',
      'runtime-turn-is-below-policy-and-transport',
      'runtime-transport-is-below-relay',
      'ice-client-has-no-sockets',
      'demo-servers-use-contract-and-ice-client',
      'runtime-never-imports-tools',
      'constructs-never-import-tools',
      'tools-icetest-rides-alone',
      'tools-pod-main-carries-icetest-only',
      'tools-client-speaks-only-the-codec',
      'tools-run-no-relay',
    ])
      expect(r.out, rule).toContain(rule);
    // the pods' icetest: both its forbidden imports, the gateway source and the other tool
    expect(r.out.split('\n').filter((l) => l.includes('tools-icetest-rides-alone'))).toHaveLength(2);
    // the demo server's two forbidden imports, not the ICE client; and the construct's import of it
    const demo = r.out.split('\n').filter((l) => l.includes('demo-servers-use-contract-and-ice-client'));
    expect(demo.join('\n')).not.toContain('runtime/ice/client.ts');
    expect(demo).toHaveLength(2);
    expect(r.out).toMatch(
      /constructs-never-import-runtime: constructs\/demo\.ts → demo-servers\/app\/main\.ts/,
    );
  });

  it('go red when a folder of constructs/ imports a folder above it', () => {
    const dir = join(planted, 'constructs-layers');
    const put = (file: string, text: string) => {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    put('constructs/demos/demo.ts', 'export const d = 1;\n');
    put('constructs/gitops/argo.ts', "import { d } from '../demos/demo.js';\nexport const a = d;\n");
    put('constructs/ice/ice.ts', "import { a } from '../gitops/argo.js';\nexport const i = a;\n");
    put('constructs/gateway/gw.ts', "import { i } from '../ice/ice.js';\nexport const g = i;\n");
    put('constructs/runtime-bundle/rt.ts', "import { g } from '../gateway/gw.js';\nexport const r = g;\n");
    put('constructs/core/naming.ts', "import { r } from '../runtime-bundle/rt.js';\nexport const n = r;\n");
    put('constructs/core/index-user.ts', "import { x } from '../index.js';\nexport const u = x;\n");
    put('constructs/index.ts', 'export const x = 1;\n');
    const r = cruise(dir, ['constructs']);
    expect(r.status).not.toBe(0);
    for (const rule of [
      'constructs-core-is-the-bottom',
      'constructs-runtime-bundle-is-below-the-gateway',
      'constructs-gateway-is-below-ice-gitops-demos',
      'constructs-ice-is-below-gitops-and-demos',
      'constructs-gitops-is-below-the-demos',
    ])
      expect(r.out, rule).toContain(rule);
    expect(r.out).toMatch(
      /constructs-core-is-the-bottom: constructs\/core\/index-user\.ts → constructs\/index\.ts/,
    );
  });
});
