/**
 * Synth warnings: things that synthesize fine but deserve a second look (cdk8s has no warning
 * mechanism of its own). A construct records a warning on its node's metadata when it learns of
 * it; `Warnings.collect(app)` lists them, and `MultiClusterApp.synth()` prints them. Warnings
 * never fail synth and never change what is written.
 */
import type { IConstruct } from 'constructs';

/** The node metadata type warnings are recorded under. */
export const WARNING_METADATA_TYPE = 'stunner-gitops:warning';

export class Warnings {
  /** The warnings of one construct. */
  static of(scope: IConstruct): Warnings {
    return new Warnings(scope);
  }

  /**
   * Every warning recorded under `root` (an app, a chart, a construct), as `[path] message`, in
   * construct-tree order.
   */
  static collect(root: IConstruct): string[] {
    const out: string[] = [];
    for (const c of root.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === WARNING_METADATA_TYPE) out.push(`[${c.node.path}] ${m.data}`);
      }
    }
    return out;
  }

  private constructor(private readonly scope: IConstruct) {}

  /** Records `message` (once, however often it is added). */
  add(message: string): void {
    const node = this.scope.node;
    if (node.metadata.some((m) => m.type === WARNING_METADATA_TYPE && m.data === message)) return;
    node.addMetadata(WARNING_METADATA_TYPE, message, { stackTrace: false });
  }

  /** This construct's own warnings. */
  get messages(): string[] {
    return this.scope.node.metadata
      .filter((m) => m.type === WARNING_METADATA_TYPE)
      .map((m) => String(m.data));
  }
}
