// What is inside the uploaded .wasm: section sizes, and the gzipped size the
// upload would have without the `name` custom section (function names, which
// only debugging and profiling use).
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

function leb(buf, i) {
  let r = 0;
  let shift = 0;
  for (;;) {
    const b = buf[i++];
    r += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [r, i];
  }
}

const IDS = { 1: 'type', 2: 'import', 3: 'function', 5: 'memory', 6: 'global', 7: 'export', 9: 'elem', 10: 'code', 11: 'data', 12: 'datacount' };

export function wasmSections(path) {
  const buf = readFileSync(path);
  const sections = {};
  const keep = [buf.subarray(0, 8)];
  let i = 8;
  while (i < buf.length) {
    const start = i;
    const id = buf[i++];
    const [size, body] = leb(buf, i);
    const end = body + size;
    let name = IDS[id] ?? `section ${id}`;
    if (id === 0) {
      const [len, j] = leb(buf, body);
      name = `custom:${buf.subarray(j, j + len).toString('utf8')}`;
    }
    sections[name] = (sections[name] ?? 0) + (end - start);
    if (name !== 'custom:name') keep.push(buf.subarray(start, end));
    i = end;
  }
  const stripped = Buffer.concat(keep);
  return {
    sections,
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    withoutNames: { raw: stripped.length, gzip: gzipSync(stripped, { level: 9 }).length },
  };
}
