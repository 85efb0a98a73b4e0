#!/usr/bin/env node
// turncat: tunnels local traffic through a TURN gateway to a peer. It is a subcommand of the
// runtime (`stunnerd turncat`), so it runs exactly what bin/stunnerd.mjs runs: the prebuilt bundle
// the package ships when installed, the TypeScript sources through tsx in a source checkout.
process.argv.splice(2, 0, 'turncat');
await import('./stunnerd.mjs');
