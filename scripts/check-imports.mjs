// Fails when a module of src/edge imports one that imports it back, directly
// or through others (part of `make check`). The modules of a directory are
// its files; `mod.rs` is the directory's root, which declares the others.
// An import is any `crate::edge::NAME` path (in `use` lists too).
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'edge');
const files = readdirSync(dir).filter((f) => f.endsWith('.rs'));
const modules = new Set(files.map((f) => (f === 'mod.rs' ? 'mod' : f.slice(0, -3))));
const edges = new Map();
for (const f of files) {
  const name = f === 'mod.rs' ? 'mod' : f.slice(0, -3);
  // Comments don't import.
  const src = readFileSync(join(dir, f), 'utf8').replace(/\/\/.*$/gm, '');
  const deps = new Set();
  for (const m of src.matchAll(/crate::edge::(\{[^}]*\}|\w+)/g)) {
    const names = m[1].startsWith('{') ? m[1].slice(1, -1).split(',').map((s) => s.trim().split(/::|\s/)[0]) : [m[1]];
    for (const n of names) {
      if (modules.has(n) && n !== name) deps.add(n);
      // An item of the root (`crate::edge::Ctx`) is an import of the root.
      else if (n && !modules.has(n) && n !== 'self') deps.add('mod');
    }
  }
  if (name !== 'mod') edges.set(name, deps);
  else {
    // The root's own imports: `use NAME::…` of its declared modules.
    const rootDeps = new Set();
    for (const m of src.matchAll(/^\s*use (\w+)::/gm)) if (modules.has(m[1])) rootDeps.add(m[1]);
    for (const m of src.matchAll(/\b(\w+)::\w+\(/g)) if (modules.has(m[1])) rootDeps.add(m[1]);
    edges.set('mod', rootDeps);
  }
}
// Find a cycle by depth-first search.
const state = new Map();
const stack = [];
let cycle = null;
function visit(n) {
  if (cycle) return;
  state.set(n, 'open');
  stack.push(n);
  for (const d of edges.get(n) ?? []) {
    if (state.get(d) === 'open') {
      cycle = [...stack.slice(stack.indexOf(d)), d];
      return;
    }
    if (!state.has(d)) visit(d);
    if (cycle) return;
  }
  stack.pop();
  state.set(n, 'done');
}
for (const n of edges.keys()) if (!state.has(n)) visit(n);
if (cycle) {
  console.error(`import cycle in src/edge: ${cycle.join(' → ')}`);
  process.exit(1);
}
console.log(`src/edge: ${edges.size} modules, no import cycle`);
