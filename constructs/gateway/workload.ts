/**
 * The gateway's workload: the Deployment, and its HorizontalPodAutoscaler and
 * PodDisruptionBudget when it has them. Each renders one object at `Resource`.
 */
import { type ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { ownedMetadata, renderObject } from '../core/api-object.js';
import type { RuntimePod } from '../runtime-bundle/runtime-pod.js';
import type { AutoscalingModel, GatewayModel, GatewaySettings } from './model.js';
import { renderPodSpec } from './pod.js';

/** The Deployment: rolling, one extra pod at a time, never one less (calls drain). */
export class GatewayDeployment extends Construct {
  readonly apiObject: ApiObject;

  /** `layout`: the runtime's files in the pod, read when the spec renders. */
  constructor(scope: Construct, id: string, model: () => GatewayModel, layout: () => RuntimePod) {
    super(scope, id);
    const m = model();
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: ownedMetadata(m, m.name),
      spec: Lazy.any({ produce: () => deploymentSpec(model(), layout()) }),
    });
  }
}

function deploymentSpec(m: GatewayModel, layout: RuntimePod): object {
  const annotations = layout.annotations;
  return {
    ...(m.replicas !== undefined ? { replicas: m.replicas } : {}),
    selector: { matchLabels: { ...m.selectorLabels } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      metadata: {
        labels: { ...m.labels },
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
      spec: renderPodSpec(m, layout),
    },
  };
}

/** A HorizontalPodAutoscaler on CPU that scales the Deployment down slowly. */
export class GatewayAutoscaler extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, m: GatewaySettings, a: AutoscalingModel) {
    super(scope, id);
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: ownedMetadata(m, m.name),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: m.name },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        // Every pod removed drains its calls for up to the grace period: scale down slowly.
        behavior: {
          scaleDown: {
            stabilizationWindowSeconds: 600,
            policies: [{ type: 'Pods', value: 1, periodSeconds: 300 }],
          },
        },
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: a.cpuUtilization },
            },
          },
        ],
      },
    });
  }
}

/** A PodDisruptionBudget, so that a node drain takes the gateway's pods one by one. */
export class GatewayDisruptionBudget extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, m: GatewaySettings, maxUnavailable: number | string) {
    super(scope, id);
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: ownedMetadata(m, m.name),
      spec: { maxUnavailable, selector: { matchLabels: { ...m.selectorLabels } } },
    });
  }
}
