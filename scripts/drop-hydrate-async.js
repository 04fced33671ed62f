// Replaces the bodies of tachys's async hydration (`hydrate_async`) with a
// trap, so that wasm-opt can then drop everything only they reach:
//
//   node scripts/drop-hydrate-async.js <wasm-dis> in.wasm out.wasm
//
// Why: leptos hydrates this app with `hydrate_body`, which walks the view with
// the synchronous `hydrate`. Only `leptos::mount::hydrate_from_async`
// (islands, lazy hydration) and `FlatRoutes` start `hydrate_async`, and the
// app uses neither; yet every type-erased view (`AnyView`) stores a pointer to
// its `hydrate_async`, so the linker keeps the whole async tree: ~96 KB of
// code before wasm-opt, ~21 KB after brotli. Should a later leptos start it
// from `hydrate_body`, the page stops with "unreachable" in the console.
//
// Which functions: those whose name (from the WASM's name section, so this
// runs on wasm-bindgen's output, before wasm-opt strips names) contains
// `hydrate_async`, except drop glue, and only if every function that calls
// one directly is dropped as well. LLVM merges functions with identical code
// under one of their names (the same helper `fn prep` in `hydrate` and in
// `hydrate_async`, say), so a function named `…hydrate_async…` that the
// synchronous path calls is kept, and so is, in turn, whatever calls it.
// Small functions that are also reachable through the function table are kept
// too: their code could be a twin of a live one merged under this name.
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');
const { readU32, u32, sections: wasmSections, assemble } = require('./wasm-sections');

const [dis, input, output] = process.argv.slice(2);
if (!dis || !input || !output) {
  console.error('usage: node drop-hydrate-async.js <wasm-dis> in.wasm out.wasm');
  process.exit(2);
}
const MIN_TABLE_BODY = 100; // bytes of code below which a table entry is kept

// Call graph from binaryen's text form: defined functions in index order.
const wat = execFileSync(dis, [input], { maxBuffer: 1 << 30 }).toString('utf8');
const names = [];
const callers = new Map(); // callee name -> Set of caller names
const inTable = new Set();
let importedFuncs = 0;
let current = null;
const nameRe = /\$("(?:[^"\\]|\\.)*"|[^\s()]+)/g;
const unq = (n) => (n.startsWith('"') ? n.slice(1, -1) : n);
for (const line of wat.split('\n')) {
  if (line.startsWith(' (import ') && / \(func \$/.test(line)) {
    importedFuncs++;
  } else if (line.startsWith(' (func ')) {
    current = unq(line.slice(' (func '.length).match(/^\$("(?:[^"\\]|\\.)*"|[^\s()]+)/)[1]);
    names.push(current);
  } else if (line.startsWith(' (elem ')) {
    for (const m of line.matchAll(nameRe)) inTable.add(unq(m[1]));
  } else if (current && (line.includes('(call $') || line.includes('(ref.func $'))) {
    for (const m of line.matchAll(/\((?:call|ref\.func) \$("(?:[^"\\]|\\.)*"|[^\s()]+)/g)) {
      const callee = unq(m[1]);
      if (!callers.has(callee)) callers.set(callee, new Set());
      callers.get(callee).add(current);
    }
  } else if (line.startsWith(' (') && !line.startsWith(' (func ')) {
    current = null;
  }
}

// Code bodies, by defined-function index.
const wasm = fs.readFileSync(input);
const sections = wasmSections(wasm);
const code = sections.find((s) => s.id === 10);
const bodies = [];
{
  let [count, p] = readU32(code.body, 0);
  for (let i = 0; i < count; i++) {
    const [size, start] = readU32(code.body, p);
    bodies.push(code.body.subarray(start, start + size));
    p = start + size;
  }
}
if (bodies.length !== names.length) {
  throw new Error(`wasm-dis shows ${names.length} functions, the code section has ${bodies.length}`);
}
const size = new Map(names.map((n, i) => [n, bodies[i].length]));

const drop = new Set(
  names.filter(
    (n) =>
      n.includes('hydrate_async') &&
      !n.startsWith('core::ptr::drop_in_place') &&
      !(inTable.has(n) && size.get(n) < MIN_TABLE_BODY),
  ),
);
for (let changed = true; changed; ) {
  changed = false;
  for (const n of drop) {
    for (const c of callers.get(n) || []) {
      if (!drop.has(c)) {
        drop.delete(n);
        changed = true;
        break;
      }
    }
  }
}

const TRAP = Buffer.from([0x00, 0x00, 0x0b]); // no locals; unreachable; end
const parts = [u32(bodies.length)];
let saved = 0;
bodies.forEach((b, i) => {
  const body = drop.has(names[i]) ? TRAP : b;
  if (body !== b) saved += b.length;
  parts.push(u32(body.length), body);
});
const newCode = Buffer.concat(parts);
fs.writeFileSync(
  output,
  assemble(wasm, sections.map((s) => (s.id === 10 ? { id: 10, body: newCode } : s))),
);
console.log(
  `drop-hydrate-async: ${drop.size} of ${names.filter((n) => n.includes('hydrate_async')).length} ` +
    `functions named hydrate_async stubbed (${saved} B of code; ${importedFuncs} imports)`,
);
