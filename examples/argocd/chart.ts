/**
 * Example: the Argo CD side of the GitOps flow. One Application per synthesized chart file in
 * dist/, so that each chart (and the runtime ConfigMap of its namespace) has exactly one owner.
 */
import type { IApplication } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { ApiObject, Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';

export interface ArgoApplicationsChartProps extends ChartProps {
  /** The Git repository holding the committed dist/. */
  readonly repoURL: string;
  /** Chart file names in dist/, without `.k8s.yaml`. */
  readonly charts: readonly string[];
  /**
   * @default 'main'
   */
  readonly targetRevision?: string;
  /**
   * @default 'dist'
   */
  readonly path?: string;
  /**
   * Argo CD project.
   * @default 'default'
   */
  readonly project?: string;
}

export class ArgoApplicationsChart extends Chart {
  constructor(scope: Construct, id: string, props: ArgoApplicationsChartProps) {
    super(scope, id, { namespace: 'argocd', ...props });
    for (const name of props.charts) {
      const app: IApplication = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name, namespace: this.namespace ?? 'argocd' },
        spec: {
          project: props.project ?? 'default',
          source: {
            repoURL: props.repoURL,
            targetRevision: props.targetRevision ?? 'main',
            path: props.path ?? 'dist',
            directory: { include: `${name}.k8s.yaml` },
          },
          // The manifests name their namespaces; the destination only picks the cluster.
          destination: { server: 'https://kubernetes.default.svc' },
          syncPolicy: {
            automated: { prune: true, selfHeal: true },
            // The runtime ConfigMap is too large for client-side apply's annotation.
            syncOptions: ['ServerSideApply=true'],
          },
        },
      };
      new ApiObject(this, name, app);
    }
  }
}
