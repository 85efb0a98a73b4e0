/**
 * SealedSecret and ExternalSecret validated against the published models: @kubernetes-models/sealed-secrets
 * (bitnami.com/v1alpha1, generated from bitnami-labs/sealed-secrets) and @kubernetes-models/external-secrets
 * (external-secrets.io/v1 and v1beta1, generated from the external-secrets CRDs), like the Argo CD objects
 * are validated against @kubernetes-models/argo-cd.
 */
import { ExternalSecret as ExternalSecretV1 } from '@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret';
import { ExternalSecret as ExternalSecretV1beta1 } from '@kubernetes-models/external-secrets/external-secrets.io/v1beta1/ExternalSecret';
import { SealedSecret } from '@kubernetes-models/sealed-secrets/bitnami.com/v1alpha1/SealedSecret';

/** True for the kinds these models cover. */
export function isSecretCrd(o: { apiVersion?: string; kind?: string }): boolean {
  return (
    (o.apiVersion === 'bitnami.com/v1alpha1' && o.kind === 'SealedSecret') ||
    ((o.apiVersion === 'external-secrets.io/v1' || o.apiVersion === 'external-secrets.io/v1beta1') &&
      o.kind === 'ExternalSecret')
  );
}

/** Validates a SealedSecret or ExternalSecret against its published model; throws with the object and the reasons. */
export function validateSecretCrd(o: any): void {
  const where = `${o.apiVersion}/${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`;
  try {
    if (o.apiVersion === 'bitnami.com/v1alpha1' && o.kind === 'SealedSecret') new SealedSecret(o).validate();
    else if (o.apiVersion === 'external-secrets.io/v1' && o.kind === 'ExternalSecret')
      new ExternalSecretV1(o).validate();
    else if (o.apiVersion === 'external-secrets.io/v1beta1' && o.kind === 'ExternalSecret')
      new ExternalSecretV1beta1(o).validate();
    else throw new Error('not a SealedSecret or ExternalSecret kind this test knows');
  } catch (e) {
    throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
