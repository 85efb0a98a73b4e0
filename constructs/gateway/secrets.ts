/**
 * The Secrets a gateway renders itself: the credentials Secret of inline (demo) credentials, and
 * a cert-manager Certificate per listener that asks for one (cert-manager writes its Secret).
 */
import type { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { ownedMetadata, renderObject } from '../core/api-object.js';
import type { ListenerCertificate } from './listener.js';
import type { GatewaySettings } from './model.js';

/** The Secret `<gateway>-auth` of inline credentials, at `Resource`. */
export class InlineCredentialsSecret extends Construct {
  readonly apiObject: ApiObject;

  constructor(
    scope: Construct,
    id: string,
    m: GatewaySettings,
    credentials: Readonly<Record<string, string>>,
  ) {
    super(scope, id);
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: ownedMetadata(m, m.credentialsSecretName),
      type: 'Opaque',
      stringData: { ...credentials },
    });
  }
}

/** A cert-manager Certificate for one listener, at `Resource`, issued into `secretName`. */
export class ListenerCertificateObject extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, m: GatewaySettings, secretName: string, c: ListenerCertificate) {
    super(scope, id);
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: ownedMetadata(m, secretName),
      spec: {
        secretName,
        dnsNames: [...c.dnsNames],
        issuerRef: { name: c.issuer, kind: c.issuerKind ?? 'ClusterIssuer', group: 'cert-manager.io' },
        usages: ['server auth', 'digital signature', 'key encipherment'],
      },
    });
  }
}
