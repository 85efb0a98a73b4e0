/** The scheduling props as pod spec fields (kept apart from workload.ts: this one names the models). */
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import type { SchedulingProps } from './workload.js';

/** The pod spec fields of `p`'s scheduling props that are set, passed through as given. */
export function schedulingSpec(p: SchedulingProps): {
  topologySpreadConstraints?: ITopologySpreadConstraint[];
  tolerations?: IToleration[];
  affinity?: IAffinity;
  nodeSelector?: Record<string, string>;
} {
  // The structural types are the models' shapes, loosely typed.
  const spec: ReturnType<typeof schedulingSpec> = {};
  if (p.topologySpreadConstraints?.length)
    spec.topologySpreadConstraints = [...p.topologySpreadConstraints] as ITopologySpreadConstraint[];
  if (p.tolerations?.length) spec.tolerations = [...p.tolerations] as IToleration[];
  if (p.affinity) spec.affinity = p.affinity as IAffinity;
  if (p.nodeSelector) spec.nodeSelector = { ...p.nodeSelector };
  return spec;
}
