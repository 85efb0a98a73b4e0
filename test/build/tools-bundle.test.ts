/**
 * The pods' bundle and the tools' bundle: the pods carry the runtime and `stunnerd icetest` (the
 * smoke-test Job's check), and no other tool; the bins' bundle carries stunnerctl and turncat.
 * Help texts stand for the tools, since esbuild keeps string literals as written.
 */
import { describe, expect, it } from 'vitest';
import { bundleRuntime } from '../../build/runtime-bundle.js';
import { bundleTools } from '../../build/tools-bundle.js';

const STUNNERCTL = 'Reads, checks and draws gateways from the committed YAML';
const IMPORT = "new ImportedChart(app, 'stunner')";
const TURNCAT = 'usage: $0 [options] <client> <server> <peer>';
const ICETEST = 'end-to-end check of a gateway: allocate, relay, report loss and RTT per listener';

describe('the shipped bundles', () => {
  it("the pods' bundle answers icetest and carries neither stunnerctl nor turncat", () => {
    const pod = Buffer.from(bundleRuntime().js).toString('utf8');
    expect(pod).toContain(ICETEST);
    for (const tool of [STUNNERCTL, IMPORT, TURNCAT]) expect(pod, tool).not.toContain(tool);
  });

  it("the tools' bundle carries stunnerctl (import and icetest included) and turncat, and no relay", () => {
    const tools = Buffer.from(bundleTools().js).toString('utf8');
    for (const tool of [STUNNERCTL, IMPORT, TURNCAT, ICETEST]) expect(tools, tool).toContain(tool);
    expect(tools).not.toContain('stunnerd ready');
  });
});
