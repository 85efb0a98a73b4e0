/**
 * The layers, checked in `npm test` (test/architecture/layers.test.ts):
 *   contract/   the dataplane config contract, defaults, pod layout: imports nothing of ours
 *   runtime/    the relay process: imports contract/ only
 *   constructs/ the cdk8s library: imports contract/ only
 *   charts-ts/, examples/: use constructs/ (and contract/), never runtime/
 *   build/      packaging tools: may read everything, nothing imports them but tests and bench
 * and no import cycles anywhere.
 */
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
      to: { path: '^(runtime|constructs|build|charts-ts|examples|bench|test|bin)/' },
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
      to: { path: '^(constructs|build|charts-ts|examples|bench|test)/' },
    },
    {
      name: 'constructs-never-import-runtime',
      comment: 'Synth must never load relay code.',
      severity: 'error',
      from: { path: '^constructs/' },
      to: { path: '^(runtime|build|charts-ts|examples|bench|test)/' },
    },
    {
      name: 'charts-use-the-library',
      comment: 'Charts and examples are written as a user writes them: constructs and contract only.',
      severity: 'error',
      from: { path: '^(charts-ts|examples)/' },
      to: { path: '^(runtime|build|bench|test)/' },
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
