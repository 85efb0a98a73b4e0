/** Helpers for the GitOps tests: synthesis, Argo CD model validation, reading a layout from disk. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet';
import { AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject';
import { Chart, Testing, Yaml } from 'cdk8s';

export type Manifest = any;

export function newChart(namespace = 'argocd'): Chart {
  return new Chart(Testing.app(), 'test', { namespace });
}

/** The validation messages synth fails with, or [] when it succeeds. */
export function synthErrors(chart: Chart): string[] {
  try {
    Testing.synth(chart);
    return [];
  } catch (e) {
    return errorLines(e);
  }
}

export function errorLines(e: unknown): string[] {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('Validation failed'));
}

/** Validates an Argo CD object against @kubernetes-models/argo-cd; throws with the reason. */
export function validateArgo(o: Manifest): void {
  switch (o.kind) {
    case 'Application':
      new Application(o).validate();
      return;
    case 'ApplicationSet':
      new ApplicationSet(o).validate();
      return;
    case 'AppProject':
      new AppProject(o).validate();
      return;
    default:
      throw new Error(`not an Argo CD kind: ${o.kind}`);
  }
}

/** Every file under `dir`, relative, sorted, with '/' separators. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const full = path.join(dir, e);
    const rel = prefix ? `${prefix}/${e}` : e;
    if (statSync(full).isDirectory()) out.push(...listFiles(full, rel));
    else out.push(rel);
  }
  return out;
}

export function loadYaml(file: string): Manifest[] {
  return Yaml.load(file).filter((d: Manifest) => d != null);
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
