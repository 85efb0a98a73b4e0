/** The gateway's Service: one port per listener, named after it, as STUNner's operator renders it. */
import { type ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import type { IServiceSpec } from 'kubernetes-models/v1/ServiceSpec';
import { listenerServiceProtocol } from '../../contract/config/types.js';
import { ownedMetadata, renderObject } from '../core/api-object.js';
import type { GatewayModel } from './model.js';

export function renderService(m: GatewayModel): IServiceSpec {
  const ports: IServicePort[] = m.listeners.map((l) => ({
    name: l.name,
    protocol: listenerServiceProtocol(l.protocol),
    port: l.port,
    targetPort: l.targetPort,
    ...(l.nodePort !== undefined && m.serviceType !== 'ClusterIP' ? { nodePort: l.nodePort } : {}),
  }));
  if (m.exposeHealthCheckPort)
    ports.push({ name: 'health', protocol: 'TCP', port: m.healthPort, targetPort: m.healthPort });
  return {
    type: m.serviceType,
    selector: { ...m.selectorLabels },
    ports,
    sessionAffinity: m.sessionAffinity,
    ...(m.externalTrafficPolicy !== undefined && m.serviceType !== 'ClusterIP'
      ? { externalTrafficPolicy: m.externalTrafficPolicy }
      : {}),
  };
}

/** The Service, at `Resource`; its ports follow the listeners added later. */
export class GatewayService extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, model: () => GatewayModel) {
    super(scope, id);
    const m = model();
    const annotations = m.serviceAnnotations ? { ...m.serviceAnnotations } : undefined;
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: ownedMetadata(m, m.serviceName, annotations),
      spec: Lazy.any({ produce: () => renderService(model()) }),
    });
  }
}
