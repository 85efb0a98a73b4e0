/**
 * `stunnerctl import`, step one: the YAML texts into STUNner objects by kind. A document that is
 * not an object, or YAML that does not parse, is an ImportError; objects of other kinds are
 * reported as not mapped.
 */
import { parseAllDocuments } from 'yaml';
import { StunnerApi } from '../../../contract/labels.js';
import {
  GATEWAY_GROUP,
  GATEWAY_VERSIONS,
  ImportError,
  type ImportInput,
  type Obj,
  type Report,
} from './model.js';

/** Every object of the texts, `List`s unpacked. */
export function readObjects(texts: readonly { name: string; text: string }[]): Obj[] {
  const objs: Obj[] = [];
  for (const t of texts) {
    for (const d of parseAllDocuments(t.text)) {
      if (d.errors.length > 0) {
        const pos = d.errors[0]!.linePos?.[0];
        throw new ImportError(
          `${t.name}${pos ? `:${pos.line}` : ''}: ${d.errors[0]!.message.split('\n')[0]}`,
        );
      }
      const v = d.toJS() as unknown;
      if (v === null || v === undefined) continue;
      if (typeof v !== 'object' || Array.isArray(v))
        throw new ImportError(`${t.name}: a document is not an object`);
      const o = v as Obj & { items?: Obj[] };
      if (o.kind === 'List' && Array.isArray(o.items)) objs.push(...o.items);
      else objs.push(o);
    }
  }
  return objs;
}

/** Sorts the objects by kind; reports the nameless and the unknown ones. */
export function classify(objs: readonly Obj[], report: Report): ImportInput {
  const id = (o: Obj, nsDefault = true) =>
    `${o.kind ?? '(no kind)'} ${nsDefault ? `${o.metadata?.namespace ?? 'default'}/` : ''}${o.metadata?.name ?? '(no name)'}`;
  const group = (o: Obj) => (o.apiVersion ?? '').split('/')[0] ?? '';
  const version = (o: Obj) => (o.apiVersion ?? '').split('/')[1] ?? '';

  const classes = new Map<string, Obj>();
  const configs = new Map<string, Obj>();
  const gateways: Obj[] = [];
  const routes: Obj[] = [];
  const statics = new Map<string, Obj>();
  const dataplanes = new Map<string, Obj>();
  const secrets = new Map<string, Obj>();
  for (const o of objs) {
    const g = group(o);
    const ns = o.metadata?.namespace ?? 'default';
    const name = o.metadata?.name;
    if (!name) {
      report.unmapped.push({
        what: `${o.kind ?? '(no kind)'} (no name)`,
        reason: 'metadata.name is missing',
      });
      continue;
    }
    if (o.kind === 'GatewayClass' && g === GATEWAY_GROUP) classes.set(name, o);
    else if (o.kind === 'GatewayConfig' && g === StunnerApi.GROUP && ['v1', 'v1alpha1'].includes(version(o)))
      configs.set(`${ns}/${name}`, o);
    else if (o.kind === 'Gateway' && g === GATEWAY_GROUP && GATEWAY_VERSIONS.includes(version(o)))
      gateways.push(o);
    else if (o.kind === 'UDPRoute' && (g === GATEWAY_GROUP || g === StunnerApi.GROUP)) routes.push(o);
    else if (o.kind === 'StaticService' && g === StunnerApi.GROUP) statics.set(`${ns}/${name}`, o);
    // Cluster-scoped: GatewayConfig.spec.dataplane names it.
    else if (o.kind === 'Dataplane' && g === StunnerApi.GROUP) dataplanes.set(name, o);
    else if (o.kind === 'Secret' && (o.apiVersion === 'v1' || o.apiVersion === undefined))
      secrets.set(`${ns}/${name}`, o);
    else if (o.kind === 'Namespace')
      report.notes.push(
        `${id(o, false)}: gateways are imported with createNamespace: false (create the namespace in your app)`,
      );
    else
      report.unmapped.push({
        what: `${o.kind ?? '(no kind)'} ${ns}/${name}`,
        reason:
          `unknown kind ${o.apiVersion ?? '(no apiVersion)'} ${o.kind ?? ''}: import reads GatewayClass, GatewayConfig, Dataplane, Gateway, UDPRoute and StaticService`.trim(),
      });
  }
  return { classes, configs, dataplanes, gateways, routes, statics, secrets };
}
