/**
 * The container images of rendered objects, found by walking each object rather than by kind: a
 * pod template nested anywhere (Deployment, CronJob, a custom resource's template) is covered.
 */

/** One container's image, and where it sits (`<object>: <field>[<i>] <name>`). */
export interface ContainerImage {
  readonly where: string;
  readonly image: string;
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Every image of every container, init container and ephemeral container in `objects`. */
export function containerImages(objects: readonly unknown[]): ContainerImage[] {
  const out: ContainerImage[] = [];
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) for (const e of v) walk(e, at);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const list of CONTAINER_LISTS)
        if (Array.isArray(o[list]))
          for (const [i, c] of (o[list] as Record<string, unknown>[]).entries())
            out.push({ where: `${at}: ${list}[${i}] ${String(c.name)}`, image: String(c.image) });
      for (const child of Object.values(o)) walk(child, at);
    }
  };
  for (const obj of objects) {
    const m = obj as { kind?: string; metadata?: { name?: string; namespace?: string } };
    const ns = m.metadata?.namespace ? `${m.metadata.namespace}/` : '';
    walk(obj, `${m.kind} ${ns}${m.metadata?.name}`);
  }
  return out;
}

/**
 * How many fields named `image` hold a string anywhere in `objects`: equal to the number of
 * container images unless some object names an image outside a container (which
 * containerImages would not see).
 */
export function imageFieldCount(objects: readonly unknown[]): number {
  let n = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object')
      for (const [k, child] of Object.entries(v)) {
        if (k === 'image' && typeof child === 'string') n++;
        walk(child);
      }
  };
  objects.forEach(walk);
  return n;
}
