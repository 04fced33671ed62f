// Renames the WASM's imports from wasm-bindgen's JS glue to short names, in
// the WASM and in the glue alike:
//
//   node scripts/short-imports.js pkg/radar_bg.wasm pkg/radar.js
//
// wasm-bindgen names each import `__wbg_<name>_<16 hex digits>`; the ~250
// names are ~8 KB in each file, and their random hex digits are what brotli
// cannot shrink. They become `a`, `b`, … `ba`, …; nothing else changes. Every
// old name must appear exactly once in the glue, as the key of its import
// (`  __wbg_…: function(`); otherwise the script changes nothing and fails,
// so a new wasm-bindgen output shape stops the build instead of breaking it.
'use strict';
const fs = require('fs');
const { readU32, u32, sections: wasmSections, assemble } = require('./wasm-sections');

const [wasmPath, jsPath] = process.argv.slice(2);
if (!wasmPath || !jsPath) {
  console.error('usage: node short-imports.js <file.wasm> <glue.js>');
  process.exit(2);
}
const wasm = fs.readFileSync(wasmPath);
let js = fs.readFileSync(jsPath, 'utf8');

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
function shortName(i) {
  let s = '';
  do {
    s = ALPHABET[i % ALPHABET.length] + s;
    i = Math.floor(i / ALPHABET.length);
  } while (i);
  return s;
}
// One import descriptor after the two names: its kind and type.
function skipDesc(buf, pos) {
  const kind = buf[pos++];
  if (kind === 0) return readU32(buf, pos)[1]; // function: type index
  if (kind === 1) { // table: reftype, limits
    pos++;
    const flags = buf[pos++];
    pos = readU32(buf, pos)[1];
    return flags & 1 ? readU32(buf, pos)[1] : pos;
  }
  if (kind === 2) { // memory: limits
    const flags = buf[pos++];
    pos = readU32(buf, pos)[1];
    return flags & 1 ? readU32(buf, pos)[1] : pos;
  }
  if (kind === 3) return pos + 2; // global: valtype, mutability
  throw new Error(`import kind ${kind} not handled`);
}

const renames = [];
const edited = wasmSections(wasm).map((s) => {
  if (s.id !== 2) return s;
  // The import section: (module, name, descriptor)*.
  const sec = s.body;
  const [count, first] = readU32(sec, 0);
  let p = first;
  const body = [u32(count)];
  for (let i = 0; i < count; i++) {
    const [modLen, m] = readU32(sec, p);
    const mod = sec.subarray(m, m + modLen);
    const [nameLen, n] = readU32(sec, m + modLen);
    const name = sec.subarray(n, n + nameLen).toString('utf8');
    const descEnd = skipDesc(sec, n + nameLen);
    let newName = name;
    if (name.startsWith('__wbg_') || name.startsWith('__wbindgen_')) {
      newName = shortName(renames.length);
      renames.push([name, newName]);
    }
    const nb = Buffer.from(newName, 'utf8');
    body.push(u32(modLen), mod, u32(nb.length), nb, sec.subarray(n + nameLen, descEnd));
    p = descEnd;
  }
  if (p !== sec.length) throw new Error('import section not read to its end');
  return { id: 2, body: Buffer.concat(body) };
});

for (const [name, short] of renames) {
  const key = new RegExp(`(^|[\\s{,])${name}:`, 'g');
  const found = js.match(key) || [];
  if (found.length !== 1 || js.split(name).length !== 2) {
    throw new Error(`${name}: expected once in ${jsPath} as an import key, found ${js.split(name).length - 1} times`);
  }
  js = js.replace(key, `$1${short}:`);
}

fs.writeFileSync(wasmPath, assemble(wasm, edited));
fs.writeFileSync(jsPath, js);
console.log(`short-imports: ${renames.length} imports renamed`);
