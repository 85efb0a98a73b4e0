/**
 * Structural schemas of SealedSecret and ExternalSecret. No package in node_modules ships their CRD
 * schemas, so they are written here after the published CRDs (bitnami-labs/sealed-secrets
 * `SealedSecret` v1alpha1; external-secrets `ExternalSecret` v1): the fields we render, their types
 * and the required ones, with unknown fields refused.
 */
import { Ajv } from 'ajv';

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const metadata = {
  type: 'object',
  required: ['name', 'namespace'],
  properties: {
    name: { type: 'string', minLength: 1 },
    namespace: { type: 'string', minLength: 1 },
    labels: stringMap,
    annotations: stringMap,
  },
  additionalProperties: false,
};

export const SEALED_SECRET_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'bitnami.com/v1alpha1' },
    kind: { const: 'SealedSecret' },
    metadata,
    spec: {
      type: 'object',
      required: ['encryptedData'],
      additionalProperties: false,
      properties: {
        encryptedData: { ...stringMap, minProperties: 1 },
        template: {
          type: 'object',
          additionalProperties: false,
          properties: {
            metadata: {
              type: 'object',
              properties: { name: { type: 'string' }, namespace: { type: 'string' }, labels: stringMap },
              additionalProperties: false,
            },
            type: { type: 'string' },
            immutable: { type: 'boolean' },
            data: stringMap,
          },
        },
      },
    },
  },
};

export const EXTERNAL_SECRET_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { enum: ['external-secrets.io/v1', 'external-secrets.io/v1beta1'] },
    kind: { const: 'ExternalSecret' },
    metadata,
    spec: {
      type: 'object',
      required: ['secretStoreRef', 'target', 'data'],
      additionalProperties: false,
      properties: {
        refreshInterval: { type: 'string' },
        secretStoreRef: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string' }, kind: { enum: ['SecretStore', 'ClusterSecretStore'] } },
        },
        target: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            creationPolicy: { enum: ['Owner', 'Orphan', 'Merge', 'None'] },
            deletionPolicy: { enum: ['Delete', 'Merge', 'Retain'] },
            template: {
              type: 'object',
              additionalProperties: false,
              properties: {
                type: { type: 'string' },
                metadata: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { labels: stringMap, annotations: stringMap },
                },
              },
            },
          },
        },
        data: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['secretKey', 'remoteRef'],
            additionalProperties: false,
            properties: {
              secretKey: { type: 'string', minLength: 1 },
              remoteRef: {
                type: 'object',
                required: ['key'],
                additionalProperties: false,
                properties: {
                  key: { type: 'string', minLength: 1 },
                  property: { type: 'string' },
                  version: { type: 'string' },
                },
              },
            },
          },
        },
      },
    },
  },
};

const ajv = new Ajv({ allErrors: true, strict: true });
export const validSealed = ajv.compile(SEALED_SECRET_SCHEMA);
export const validExternal = ajv.compile(EXTERNAL_SECRET_SCHEMA);

/** True for the kinds these schemas cover. */
export function isSecretCrd(o: { apiVersion?: string; kind?: string }): boolean {
  return (
    (o.apiVersion === 'bitnami.com/v1alpha1' && o.kind === 'SealedSecret') ||
    (o.apiVersion?.startsWith('external-secrets.io/') === true && o.kind === 'ExternalSecret')
  );
}

/** Validates a SealedSecret or ExternalSecret; throws with the object and the reasons. */
export function validateSecretCrd(o: any): void {
  const validate = o.kind === 'SealedSecret' ? validSealed : validExternal;
  if (!validate(o)) {
    throw new Error(
      `${o.apiVersion}/${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}: ${ajv.errorsText(validate.errors)}`,
    );
  }
}
