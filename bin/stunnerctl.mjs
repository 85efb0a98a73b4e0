#!/usr/bin/env node
// stunnerctl: reads, checks and draws gateways from dist/, a cluster or a running runtime. It is a
// subcommand of the runtime (`stunnerd ctl`), so it runs exactly what bin/stunnerd.mjs runs: the
// prebuilt bundle the package ships when installed, the TypeScript sources through tsx in a
// source checkout.
process.argv.splice(2, 0, 'ctl');
await import('./stunnerd.mjs');
