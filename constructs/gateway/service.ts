/** The gateway's Service: one port per listener, named after it, as STUNner's operator renders it. */
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import type { IServiceSpec } from 'kubernetes-models/v1/ServiceSpec';
import { type GatewayModel, transportOf } from './model.js';

export interface ServiceOptions {
  readonly selector: Readonly<Record<string, string>>;
  readonly sessionAffinity: 'ClientIP' | 'None';
  readonly externalTrafficPolicy: 'Cluster' | 'Local' | undefined;
  readonly exposeHealthCheckPort: boolean;
}

export function renderService(m: GatewayModel, o: ServiceOptions): IServiceSpec {
  const ports: IServicePort[] = m.listeners.map((l) => ({
    name: l.name,
    protocol: transportOf(l.protocol),
    port: l.port,
    targetPort: l.targetPort,
    ...(l.nodePort !== undefined && m.serviceType !== 'ClusterIP' ? { nodePort: l.nodePort } : {}),
  }));
  if (o.exposeHealthCheckPort)
    ports.push({ name: 'health', protocol: 'TCP', port: m.healthPort, targetPort: m.healthPort });
  return {
    type: m.serviceType,
    selector: { ...o.selector },
    ports,
    sessionAffinity: o.sessionAffinity,
    ...(o.externalTrafficPolicy !== undefined && m.serviceType !== 'ClusterIP'
      ? { externalTrafficPolicy: o.externalTrafficPolicy }
      : {}),
  };
}
