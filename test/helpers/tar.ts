/**
 * A small tar (ustar) writer and reader for the image tests: the writer makes the stand-in base
 * image's layer, deterministically; the reader unpacks image layers. Both handle what image layers
 * hold (files, directories, symlinks, hard links; PAX and GNU long names on read) and refuse the
 * rest, so a layer the tests do not understand fails loudly instead of unpacking half.
 */

export type TarEntry =
  | {
      readonly type: 'file';
      readonly path: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly data: Buffer;
    }
  | {
      readonly type: 'dir';
      readonly path: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
    }
  | {
      readonly type: 'symlink' | 'link';
      readonly path: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly target: string;
    };

const BLOCK = 512;

function octal(buf: Buffer, off: number, len: number, n: number): void {
  const s = n.toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new Error(`tar: ${n} does not fit ${len - 1} octal digits`);
  buf.write(`${s}\0`, off, len, 'ascii');
}

function header(e: TarEntry, mtime: number): Buffer {
  const name = e.type === 'dir' ? `${e.path}/` : e.path;
  let prefix = '';
  let short = name;
  if (Buffer.byteLength(name) > 100) {
    // ustar splits a long name at a '/' into prefix (155) and name (100)
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    short = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(short) > 100)
      throw new Error(`tar: name too long for ustar: ${name}`);
  }
  const h = Buffer.alloc(BLOCK);
  h.write(short, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, e.uid);
  octal(h, 116, 8, e.gid);
  octal(h, 124, 12, e.type === 'file' ? e.data.length : 0);
  octal(h, 136, 12, mtime);
  h.write(' '.repeat(8), 148, 8, 'ascii');
  h.write({ file: '0', dir: '5', symlink: '2', link: '1' }[e.type], 156, 1, 'ascii');
  if (e.type === 'symlink' || e.type === 'link') {
    if (Buffer.byteLength(e.target) > 100) throw new Error(`tar: link target too long: ${e.target}`);
    h.write(e.target, 157, 100, 'utf8');
  }
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** The tar archive of `entries`, in the order given, every mtime `mtime` (seconds). */
export function writeTar(entries: readonly TarEntry[], mtime = 0): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e, mtime));
    if (e.type === 'file') {
      parts.push(e.data);
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

const str = (b: Buffer, off: number, len: number): string => {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
};

function num(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) throw new Error('tar: base-256 numbers are not handled');
  const s = str(b, off, len).trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

/** PAX extended header records: `<len> <key>=<value>\n`. */
function pax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const len = Number.parseInt(data.toString('ascii', i, sp), 10);
    if (!(len > 0)) throw new Error('tar: malformed PAX header');
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** The entries of a tar archive. Throws on entry types image layers do not use. */
export function readTar(tar: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let next: Record<string, string> = {};
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== num(h, 148, 8)) throw new Error(`tar: bad header checksum at offset ${off}`);
    const type = String.fromCharCode(h[156]! || 0x30);
    const size = next.size !== undefined ? Number(next.size) : num(h, 124, 12);
    const data = tar.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      next = { ...next, ...pax(data) };
      continue;
    }
    if (type === 'g') continue; // global PAX header: nothing in it changes how we unpack
    if (type === 'L' || type === 'K') {
      next = { ...next, [type === 'L' ? 'path' : 'linkpath']: str(data, 0, data.length) };
      continue;
    }
    const prefix = str(h, 345, 155);
    const name = next.path ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const target = next.linkpath ?? str(h, 157, 100);
    next = {};
    const meta = {
      path: name.replace(/^(\.\/)+/, '').replace(/\/+$/, ''),
      mode: num(h, 100, 8),
      uid: num(h, 108, 8),
      gid: num(h, 116, 8),
    };
    if (type === '0' || type === '7') out.push({ type: 'file', ...meta, data: Buffer.from(data) });
    else if (type === '5') out.push({ type: 'dir', ...meta });
    else if (type === '2') out.push({ type: 'symlink', ...meta, target });
    else if (type === '1') out.push({ type: 'link', ...meta, target: target.replace(/^(\.\/)+/, '') });
    else throw new Error(`tar: entry type '${type}' (${name}) is not handled`);
  }
  return out;
}
