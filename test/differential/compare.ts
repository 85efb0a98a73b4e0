/**
 * Step-by-step comparison of two conversation records (STUNner's answers and ours), and the
 * matching of the differences found against the table of listed ones (docs/stunner-differences.md).
 */
import type { Answer, Outcome, Step } from './turn-script.js';

export interface Difference {
  /** `<conversation> / <step> / <field>`. */
  readonly key: string;
  readonly stunner: string;
  readonly ours: string;
}

/** A listed difference: `key` may use `*` for any text; stunner/ours are the values it expects. */
export interface Listed {
  readonly key: string;
  readonly stunner: string;
  readonly ours: string;
  /** The section of docs/stunner-differences.md that gives the reason. */
  readonly doc: string;
}

/** The comparable fields of one outcome, as strings ('absent' when missing). */
function fields(o: Outcome | undefined): Map<string, string> {
  const f = new Map<string, string>();
  if (!o) {
    f.set('step', 'absent');
    return f;
  }
  if ('observed' in o) {
    f.set('observed', o.observed);
    return f;
  }
  const a = o as Answer;
  f.set('class', a.cls);
  if (a.cls === 'none') return f;
  f.set('error code', a.code === undefined ? 'absent' : String(a.code));
  for (const name of a.attrs ?? []) f.set(`attribute ${name}`, 'present');
  f.set('lifetime', a.lifetime === undefined ? 'absent' : String(a.lifetime));
  if (a.relayedFamily !== undefined) f.set('relayed family', `IPv${a.relayedFamily}`);
  if (a.unknown !== undefined) f.set('unknown attributes', a.unknown.join(','));
  return f;
}

/** Compares the records; returns the differences and how many fields were compared. */
export function compareSteps(
  conversation: string,
  stunner: readonly Step[],
  ours: readonly Step[],
): { differences: Difference[]; fields: number; steps: number } {
  const differences: Difference[] = [];
  let compared = 0;
  const names = [...new Set([...stunner.map((s) => s.step), ...ours.map((s) => s.step)])];
  for (const step of names) {
    const a = fields(stunner.find((s) => s.step === step)?.outcome);
    const b = fields(ours.find((s) => s.step === step)?.outcome);
    // A field only one side has (an attribute, say) is absent on the other.
    const keys = new Set([...a.keys(), ...b.keys()]);
    for (const k of keys) {
      compared++;
      const va = a.get(k) ?? 'absent';
      const vb = b.get(k) ?? 'absent';
      if (va !== vb) differences.push({ key: `${conversation} / ${step} / ${k}`, stunner: va, ours: vb });
    }
  }
  return { differences, fields: compared, steps: names.length };
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Splits the differences into listed and unlisted, and returns the listed entries nothing matched. */
export function matchListed(
  differences: readonly Difference[],
  listed: readonly Listed[],
): { unlisted: Difference[]; matched: Difference[]; stale: Listed[] } {
  const used = new Set<Listed>();
  const unlisted: Difference[] = [];
  const matched: Difference[] = [];
  for (const d of differences) {
    const hit = listed.find((l) => glob(l.key).test(d.key) && l.stunner === d.stunner && l.ours === d.ours);
    if (hit) {
      used.add(hit);
      matched.push(d);
    } else unlisted.push(d);
  }
  return { unlisted, matched, stale: listed.filter((l) => !used.has(l)) };
}

export const formatDifference = (d: Difference) => `${d.key}: STUNner ${d.stunner}, ours ${d.ours}`;
