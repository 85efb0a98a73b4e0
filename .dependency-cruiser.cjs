/**
 * The layers, checked in `npm test` (test/architecture/layers.test.ts):
 *   contract/   the dataplane config contract, defaults, pod layout: imports nothing of ours
 *   runtime/    the relay, the watchers and the ICE auth service: imports contract/ only
 *   tools/      the operator tools (stunnerctl, turncat, icetest, the TURN client): runtime/ and
 *               contract/; nothing but tests, bench and the bins imports them (rules tools-*)
 *   constructs/ the cdk8s library: imports contract/ only
 *   charts-ts/, examples/: use constructs/ (and contract/), never runtime/
 *   demo-servers/ our demo servers: contract/ and the ICE client only; the constructs read their
 *               built bytes (lib/assets/demos/), never their code
 *   build/      packaging tools: may read everything, nothing imports them but tests and bench
 *   fuzz/       fuzz targets and their engine: runtime/ and contract/ only (tests import them)
 * and no import cycles anywhere.
 *
 * Inside runtime/, each folder is a layer and imports only the ones below it (rules runtime-*):
 *   stun/, log/, args/          the codec, logging, the command lines' parser (yargs): the bottom,
 *                               import nothing of the runtime
 *   turn/                       TURN state, no sockets: stun/, log/ (what it needs from above comes
 *                               in through the interfaces in turn/hooks.ts)
 *   policy/    transport/       side by side, never each other: policy/ (auth, perimeter, quotas)
 *                               and transport/ (UDP, streams, client links) implement turn/'s hooks
 *   relay/                      the relay library: composes policy/, transport/ and turn/
 *   cluster-watch/              Kubernetes watchers: log/ only (they report through callbacks)
 *   process/                    the stunnerd process: relay/, cluster-watch/ and everything below
 *   ice/                        the ICE auth service: cluster-watch/, policy/auth, log/; no relay
 *   main.ts                     the entry point (the relay daemon, `stunnerd auth`): anything
 *
 * Inside tools/, the same (rules tools-*), so that the pods' bundle carries icetest and nothing else:
 *   client/                     the TURN client: runtime/stun/ only, no server parts
 *   target/                     where a client dials (a config's listener, credentials): client/
 *   sources/                    gateways from files, a cluster or a URL: target/ (its reader type)
 *   icetest/                    the gateway check: client/, target/; never sources/ or another tool
 *   turncat/    stunnerctl/     the tunnel and the operator CLI: anything below (stunnerctl: icetest/)
 *   pod-main.ts                 the pods' program: runtime/main.ts and icetest/ only
 *   main.ts                     the tools' program (bin/stunnerctl.mjs, bin/turncat.mjs): anything
 * No tool but pod-main.ts reaches the relay (runtime/{relay,transport,turn,process}/).
 *
 * Inside constructs/, each folder is a layer and imports only the ones below it (rules constructs-*):
 *   core/            naming, k8s types, the object helper, pod security, sync waves, warnings,
 *                    registries, secret sources: the foundation, imports no other folder
 *   runtime-bundle/  what runs in the pods (GatewayRuntime, the runtime ConfigMap, the pod layout)
 *   gateway/         StunnerGateway, its resource constructs, MediaRoute, TurnAuth
 *   ice/             the ICE auth service, for gateways
 *   gitops/          Argo CD objects, the multi-cluster layout, the smoke test
 *   demos/           the demos: anything below; index.ts: anything
 */
const below = (...layers) => `^runtime/(?!(${layers.join('|')})/)[^/]+/`;
/** Any construct file but those in `layers`: another folder, or a top-level file (index.ts). */
const constructsBelow = (...layers) => `^constructs/((?!(${layers.join('|')})/)[^/]+/|[^/]+$)`;
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle makes load order matter and layers meaningless.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contract-imports-nothing-of-ours',
      comment: 'contract/ is the bottom layer: both sides import it, it imports neither.',
      severity: 'error',
      from: { path: '^contract/' },
      to: { path: '^(runtime|tools|constructs|build|charts-ts|examples|bench|test|bin|demo-servers)/' },
    },
    {
      name: 'contract-has-no-networking',
      comment: 'contract/ is loaded at synth time: no sockets, no DNS, no cdk8s.',
      severity: 'error',
      from: { path: '^contract/' },
      to: {
        path: '^(net|dgram|dns|http|https|http2|tls|worker_threads|child_process|cluster|cdk8s|cdk8s-plus-[0-9]+|constructs|@kubernetes/client-node)$',
      },
    },
    {
      name: 'runtime-never-imports-constructs',
      severity: 'error',
      from: { path: '^runtime/' },
      to: { path: '^(constructs|build|charts-ts|examples|bench|test|demo-servers)/' },
    },
    {
      name: 'runtime-never-imports-tools',
      comment: 'The tools are built on the runtime, never the other way: the pods run the runtime alone.',
      severity: 'error',
      from: { path: '^runtime/' },
      to: { path: '^tools/' },
    },
    {
      name: 'constructs-never-import-tools',
      comment: 'Synth must never load the operator tools (they read clusters and write code).',
      severity: 'error',
      from: { path: '^constructs/' },
      to: { path: '^tools/' },
    },
    {
      name: 'constructs-never-import-runtime',
      comment: 'Synth must never load relay code.',
      severity: 'error',
      from: { path: '^constructs/' },
      to: { path: '^(runtime|build|charts-ts|examples|bench|test|demo-servers)/' },
    },
    {
      name: 'demo-servers-use-contract-and-ice-client',
      comment:
        'Demo servers are bundled apart from the relay: contract/ and npm packages, plus one narrow exception, the ICE client (runtime/ice/client.ts, the public `stunner-gitops/ice-client` module an application server uses).',
      severity: 'error',
      from: { path: '^demo-servers/' },
      to: {
        path: '^(runtime|tools|constructs|build|charts-ts|examples|bench|test|bin)/',
        pathNot: '^runtime/ice/client\\.ts$',
      },
    },
    {
      name: 'charts-use-the-library',
      comment: 'Charts and examples are written as a user writes them: constructs and contract only.',
      severity: 'error',
      from: { path: '^(charts-ts|examples)/' },
      to: { path: '^(runtime|tools|build|bench|test|demo-servers)/' },
    },
    {
      name: 'runtime-stun-log-are-the-bottom',
      comment: 'stun/ (the codec), log/ and args/ import nothing else of the runtime.',
      severity: 'error',
      from: { path: '^runtime/(stun|log|args)/' },
      to: { path: '^runtime/', pathNot: '^runtime/(stun|log|args)/' },
    },
    {
      name: 'runtime-turn-is-below-policy-and-transport',
      comment: 'turn/ is protocol state: it reaches policy and sockets only through turn/hooks.ts.',
      severity: 'error',
      from: { path: '^runtime/turn/' },
      to: { path: below('turn', 'stun', 'log') },
    },
    {
      name: 'runtime-policy-is-below-relay',
      comment: 'policy/ implements turn/ hooks; it never touches transport/ or anything above.',
      severity: 'error',
      from: { path: '^runtime/policy/' },
      to: { path: below('policy', 'turn', 'stun', 'log') },
    },
    {
      name: 'runtime-transport-is-below-relay',
      comment: 'transport/ moves bytes for turn/; it never touches policy/ or anything above.',
      severity: 'error',
      from: { path: '^runtime/transport/' },
      to: { path: below('transport', 'turn', 'stun', 'log') },
    },
    {
      name: 'runtime-relay-is-below-process',
      comment: 'relay/ is the library: no process concerns (config files, watchers, health, signals).',
      severity: 'error',
      from: { path: '^runtime/relay/' },
      to: { path: below('relay', 'policy', 'transport', 'turn', 'stun', 'log') },
    },
    {
      name: 'runtime-cluster-watch-reports-by-callback',
      comment: 'cluster-watch/ knows Kubernetes, not the relay: results go out through callbacks.',
      severity: 'error',
      from: { path: '^runtime/cluster-watch/' },
      to: { path: below('cluster-watch', 'log') },
    },
    {
      name: 'runtime-process-is-below-the-entry-points',
      severity: 'error',
      from: { path: '^runtime/process/' },
      to: { path: '^runtime/ice/|^runtime/main\\.ts$' },
    },
    {
      name: 'runtime-ice-runs-without-the-relay',
      comment: 'The ICE auth service is its own process: it shares auth and watchers, not the relay.',
      severity: 'error',
      from: { path: '^runtime/ice/' },
      to: { path: below('ice', 'cluster-watch', 'policy/auth', 'stun', 'log', 'args') },
    },
    {
      name: 'tools-client-speaks-only-the-codec',
      comment: 'client/ is the TURN client side: the codec, never the server it talks to.',
      severity: 'error',
      from: { path: '^tools/client/' },
      to: { path: '^(runtime|tools)/', pathNot: '^(runtime/stun|tools/client)/' },
    },
    {
      name: 'tools-target-reads-no-gateway-source',
      comment: 'target/ turns a listener into a dial target; reading gateways is sources/, above it.',
      severity: 'error',
      from: { path: '^tools/target/' },
      to: { path: '^tools/', pathNot: '^tools/(target|client)/' },
    },
    {
      name: 'tools-sources-are-below-the-commands',
      comment: 'sources/ reads gateways for every command: it knows none of them.',
      severity: 'error',
      from: { path: '^tools/sources/' },
      to: { path: '^tools/', pathNot: '^tools/(sources|target|client)/' },
    },
    {
      name: 'tools-icetest-rides-alone',
      comment:
        'The pods carry icetest (the smoke-test Job): it reads -c configs only, so it imports no gateway source and no other tool; stunnerctl hands it the reader.',
      severity: 'error',
      from: { path: '^tools/icetest/' },
      to: { path: '^tools/', pathNot: '^tools/(icetest|target|client)/' },
    },
    {
      name: 'tools-turncat-is-not-stunnerctl',
      severity: 'error',
      from: { path: '^tools/turncat/' },
      to: { path: '^tools/(stunnerctl|icetest)/|^tools/[^/]+\\.ts$' },
    },
    {
      name: 'tools-pod-main-carries-icetest-only',
      comment: "The pods' program is the runtime plus icetest: no other tool in the pods' bundle.",
      severity: 'error',
      from: { path: '^tools/pod-main\\.ts$' },
      to: { path: '^tools/', pathNot: '^tools/(icetest|target|client)/' },
    },
    {
      name: 'tools-run-no-relay',
      comment: 'The tools are clients: they share the codec, logging, auth and watchers, not the relay.',
      severity: 'error',
      from: { path: '^tools/', pathNot: '^tools/pod-main\\.ts$' },
      to: { path: '^runtime/(relay|transport|turn|process)/|^runtime/main\\.ts$' },
    },
    {
      name: 'ice-client-has-no-sockets',
      comment:
        'The /ice-client module is imported by application servers on its own: fetch only, and its types from contract/ice-api.ts, so that its declarations need none of the service (its watcher types need @kubernetes/client-node).',
      severity: 'error',
      from: { path: '^runtime/ice/client\\.ts$' },
      to: { path: '^(dgram|net|tls|http|https|worker_threads)$|^runtime/' },
    },
    {
      name: 'constructs-core-is-the-bottom',
      comment: 'core/ is what every construct builds on: it imports no other folder of constructs/.',
      severity: 'error',
      from: { path: '^constructs/core/' },
      to: { path: '^constructs/', pathNot: '^constructs/core/' },
    },
    {
      name: 'constructs-runtime-bundle-is-below-the-gateway',
      severity: 'error',
      from: { path: '^constructs/runtime-bundle/' },
      to: { path: constructsBelow('runtime-bundle', 'core') },
    },
    {
      name: 'constructs-gateway-is-below-ice-gitops-demos',
      comment: 'The gateway knows routes and the auth service only through gateway/types.ts.',
      severity: 'error',
      from: { path: '^constructs/gateway/' },
      to: { path: constructsBelow('gateway', 'runtime-bundle', 'core') },
    },
    {
      name: 'constructs-ice-is-below-gitops-and-demos',
      severity: 'error',
      from: { path: '^constructs/ice/' },
      to: { path: constructsBelow('ice', 'gateway', 'runtime-bundle', 'core') },
    },
    {
      name: 'constructs-gitops-is-below-the-demos',
      severity: 'error',
      from: { path: '^constructs/gitops/' },
      to: { path: constructsBelow('gitops', 'ice', 'gateway', 'runtime-bundle', 'core') },
    },
    {
      name: 'fuzz-targets-test-the-code-itself',
      comment: 'fuzz/ targets import the code under test (runtime/, contract/), never tests or tooling.',
      severity: 'error',
      from: { path: '^fuzz/' },
      to: { path: '^(tools|constructs|build|charts-ts|examples|bench|test|bin)/' },
    },
    {
      name: 'library-needs-no-dev-dependencies',
      comment: 'What a consumer installs must run without our devDependencies (types are fine).',
      severity: 'error',
      from: { path: '^(constructs|contract)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only', 'npm-peer'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|lib|\\.bench-build)/' },
    tsPreCompilationDeps: true,
    parser: 'tsc',
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.mjs', '.js', '.d.ts'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
