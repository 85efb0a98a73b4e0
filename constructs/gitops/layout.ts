/**
 * The multi-cluster layout: `dist/<cluster>/<chart>.k8s.yaml` for every cluster, and
 * `dist/argocd/<chart>.k8s.yaml` with the Argo CD objects that sync them.
 *
 * cdk8s writes all charts of one App into that App's outdir, so the layout is one App per cluster
 * (outdir `dist/<cluster>`) plus one App for Argo CD (outdir `dist/argocd`), synthesized in
 * sequence. Each App validates and resolves on its own, and the same chart ids can repeat in every
 * cluster.
 */
import * as path from 'node:path';
import { App, type AppProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { KUBERNETES_API_CONTEXT } from '../core/kubernetes-api.js';
import { ArgoSyncRegistry } from '../core/registry.js';
import { Warnings } from '../core/warnings.js';
import { clusterProblems, type IGitOpsCluster } from './cluster.js';

export interface MultiClusterAppProps {
  /** The clusters (or environments) to render, each into its own directory. */
  readonly clusters: readonly IGitOpsCluster[];
  /**
   * Where to write, on this machine.
   * @default $CDK8S_OUTDIR (set by `cdk8s synth`), else 'dist'
   */
  readonly outdir?: string;
  /**
   * The same directory as a path relative to the git repository root: what Argo CD objects name.
   * Never derived from `outdir`, so an absolute or temporary outdir never reaches a manifest.
   * @default 'dist'
   */
  readonly repoPath?: string;
  /**
   * The directory (under outdir) for the Argo CD objects.
   * @default 'argocd'
   */
  readonly argocdDirectory?: string;
  /**
   * Props for every App (resolvers, output file extension, ...); `outdir` is set per App.
   * @default {}
   */
  readonly appProps?: Omit<AppProps, 'outdir'>;
  /**
   * Called with each synth warning (`<cluster>: [construct path] message`), e.g. inline TURN
   * credentials in a chart Argo CD syncs. Warnings never fail the synth.
   * @default print each to stderr, prefixed with `Warning: `
   */
  readonly onWarning?: (warning: string) => void;
}

/** A chart factory: called once per cluster, with that cluster's App as scope. */
export type ClusterChartFactory = (scope: Construct, cluster: IGitOpsCluster) => void;

/** One cdk8s App per cluster plus one for Argo CD; `synth()` writes them all. */
export class MultiClusterApp {
  readonly clusters: readonly IGitOpsCluster[];
  /** The App whose charts go to `<outdir>/argocd/`. */
  readonly argocd: App;
  /** Root of the layout on this machine. */
  readonly outdir: string;
  /** Root of the layout in the repository (e.g. `dist`). */
  readonly repoPath: string;
  readonly argocdDirectory: string;
  readonly #apps = new Map<string, App>();
  readonly #onWarning: (warning: string) => void;

  constructor(props: MultiClusterAppProps) {
    this.clusters = [...props.clusters];
    this.outdir = props.outdir ?? process.env.CDK8S_OUTDIR ?? 'dist';
    this.repoPath = props.repoPath ?? 'dist';
    this.argocdDirectory = props.argocdDirectory ?? 'argocd';
    this.#onWarning = props.onWarning ?? ((w) => console.error(`Warning: ${w}`));
    for (const c of this.clusters) {
      if (!this.#apps.has(c.name)) {
        const app = new App({ ...props.appProps, outdir: path.join(this.outdir, c.name) });
        // Every watcher of this cluster's charts egresses only to its API server.
        if (c.kubernetesApi !== undefined) app.node.setContext(KUBERNETES_API_CONTEXT, c.kubernetesApi);
        // Argo CD syncs the whole directory of every cluster: constructs that care ask the registry.
        ArgoSyncRegistry.of(app).register(
          `MultiClusterApp cluster "${c.name}": ${path.posix.join(this.repoPath, c.name)}/`,
        );
        this.#apps.set(c.name, app);
      }
    }
    this.argocd = new App({ ...props.appProps, outdir: path.join(this.outdir, this.argocdDirectory) });
    this.argocd.node.addValidation({ validate: () => this.#problems() });
  }

  /** The App of one cluster (its charts go to `<outdir>/<cluster>/`). */
  appOf(cluster: IGitOpsCluster | string): App {
    const name = typeof cluster === 'string' ? cluster : cluster.name;
    const app = this.#apps.get(name);
    if (!app)
      throw new Error(
        `MultiClusterApp: no cluster "${name}" (clusters: ${[...this.#apps.keys()].join(', ')})`,
      );
    return app;
  }

  /** Every cluster's App, in cluster order. */
  get clusterApps(): readonly App[] {
    return [...this.#apps.values()];
  }

  /** Calls `factory` once per cluster, with the cluster's App as scope. */
  addCharts(factory: ClusterChartFactory): void {
    for (const c of this.clusters) factory(this.appOf(c), c);
  }

  /** The repository path of a cluster's directory, e.g. `dist/prod` (for Application sources). */
  repoPathOf(cluster: IGitOpsCluster | string): string {
    return path.posix.join(this.repoPath, typeof cluster === 'string' ? cluster : cluster.name);
  }

  /** The repository path of the Argo CD directory, e.g. `dist/argocd` (the app-of-apps source). */
  get argocdRepoPath(): string {
    return path.posix.join(this.repoPath, this.argocdDirectory);
  }

  /**
   * The synth warnings of every App, `<cluster>: [construct path] message` (`argocd: ...` for the
   * Argo CD App), in cluster order.
   */
  get warnings(): string[] {
    const named: [string, App][] = [...this.#apps.entries(), [this.argocdDirectory, this.argocd]];
    return named.flatMap(([name, app]) => Warnings.collect(app).map((w) => `${name}: ${w}`));
  }

  /**
   * Validates every App first (so that nothing is written when anything is wrong), then writes
   * each cluster's directory and the Argo CD directory, and reports the warnings (`onWarning`).
   * Returns the warnings.
   */
  synth(): string[] {
    const problems: string[] = [];
    for (const app of [...this.#apps.values(), this.argocd]) {
      try {
        app.synthYaml();
      } catch (e) {
        problems.push(e instanceof Error ? e.message : String(e));
      }
    }
    if (problems.length > 0) throw new Error(problems.join('\n'));
    for (const app of this.#apps.values()) app.synth();
    this.argocd.synth();
    const warnings = this.warnings;
    for (const w of warnings) this.#onWarning(w);
    return warnings;
  }

  #problems(): string[] {
    const problems = this.clusters.flatMap(clusterProblems);
    const seen = new Set<string>();
    for (const c of this.clusters) {
      if (seen.has(c.name))
        problems.push(`cluster "${c.name}" is given twice: each cluster needs its own directory`);
      seen.add(c.name);
      if (c.name === this.argocdDirectory) {
        problems.push(`cluster "${c.name}" would share the directory of the Argo CD objects: rename it`);
      }
    }
    if (this.clusters.length === 0) problems.push('no clusters: nothing would be rendered');
    for (const [name, app] of this.#apps) {
      if (app.charts.length === 0) {
        problems.push(
          `cluster "${name}" has no chart: Argo CD would sync an empty directory (and prune everything there)`,
        );
      }
    }
    const repo = this.repoPath;
    if (repo.startsWith('/') || repo.split('/').includes('..')) {
      problems.push(`repoPath "${repo}" must be relative to the repository root, inside it (e.g. "dist")`);
    }
    return problems.map((p) => `MultiClusterApp: ${p}`);
  }
}
