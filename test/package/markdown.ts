/** The parts of a Markdown document a test walks: its sections and their fenced code blocks. */

export interface CodeBlock {
  /** The fence's info string: `sh`, `ts`, ... (empty when none). */
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

/** The text under a heading (`## Title`), up to the next heading of the same or a higher level. */
export function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)?.[0].length;
  if (level === undefined) throw new Error(`not a heading: ${heading}`);
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  let end = start + 1;
  let fenced = false;
  for (; end < lines.length; end++) {
    const line = lines[end]!;
    if (line.startsWith('```')) fenced = !fenced;
    const h = /^(#+) /.exec(line);
    if (!fenced && h && h[1]!.length <= level) break;
  }
  // blank lines keep the section's line numbers those of the document
  return [...lines.slice(0, start).map(() => ''), ...lines.slice(start, end)].join('\n');
}

/** The fenced code blocks of a document, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`unclosed code block at line ${i + 1}`);
    blocks.push({ lang: open[1]!, code: `${lines.slice(i + 1, end).join('\n')}\n`, line: i + 1 });
    i = end;
  }
  return blocks;
}
