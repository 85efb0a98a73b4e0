/**
 * The namespace a construct renders into, and the label check the constructs share. The label and
 * annotation names and the DNS checks are the contract's (contract/labels.ts, contract/checks.ts).
 */
import { App, Chart, Names } from 'cdk8s';
import type { IConstruct } from 'constructs';

/** The namespace of a construct without one of its own: the chart's, else "default". */
export function chartNamespace(scope: IConstruct): string {
  return Chart.of(scope).namespace ?? 'default';
}

/** The file cdk8s writes a chart of an App to (`<chart>.k8s.yaml` for a chart without dependencies). */
export function chartFileName(chart: IConstruct): string {
  return `${Names.toDnsLabel(chart)}${App.of(chart).outputFileExtension}`;
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Why a label map is invalid, or []. */
export function labelProblems(labels: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k) || k.length > 316)
      problems.push(`label key "${k}" is not a valid Kubernetes label key`);
    if (!LABEL_VALUE.test(v) || v.length > 63)
      problems.push(`label ${k}: value "${v}" is not a valid label value`);
  }
  return problems;
}
