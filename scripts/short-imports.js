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

const [wasmPath, jsPath] = process.argv.slice(2);
if (!wasmPath || !jsPath) {
  console.error('usage: node short-imports.js <file.wasm> <glue.js>');
  process.exit(2);
}
const wasm = fs.readFileSync(wasmPath);
let js = fs.readFileSync(jsPath, 'utf8');

function readU32(buf, pos) {
  let result = 0, shift = 0, byte;
  do {
    byte = buf[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, pos];
}
function u32(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}
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

if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error(`${wasmPath} is not a WASM module`);
const parts = [wasm.subarray(0, 8)];
const renames = [];
let pos = 8;
while (pos < wasm.length) {
  const id = wasm[pos];
  const [size, start] = readU32(wasm, pos + 1);
  const end = start + size;
  if (id !== 2) {
    parts.push(wasm.subarray(pos, end));
    pos = end;
    continue;
  }
  // The import section: (module, name, descriptor)*.
  let p = start;
  const [count, first] = readU32(wasm, p);
  p = first;
  const body = [u32(count)];
  for (let i = 0; i < count; i++) {
    const [modLen, m] = readU32(wasm, p);
    const mod = wasm.subarray(m, m + modLen);
    const [nameLen, n] = readU32(wasm, m + modLen);
    const name = wasm.subarray(n, n + nameLen).toString('utf8');
    const descEnd = skipDesc(wasm, n + nameLen);
    let newName = name;
    if (name.startsWith('__wbg_') || name.startsWith('__wbindgen_')) {
      newName = shortName(renames.length);
      renames.push([name, newName]);
    }
    const nb = Buffer.from(newName, 'utf8');
    body.push(u32(modLen), mod, u32(nb.length), nb, wasm.subarray(n + nameLen, descEnd));
    p = descEnd;
  }
  if (p !== end) throw new Error('import section not read to its end');
  const content = Buffer.concat(body);
  parts.push(Buffer.from([2]), u32(content.length), content);
  pos = end;
}

for (const [name, short] of renames) {
  const key = new RegExp(`(^|[\\s{,])${name}:`, 'g');
  const found = js.match(key) || [];
  if (found.length !== 1 || js.split(name).length !== 2) {
    throw new Error(`${name}: expected once in ${jsPath} as an import key, found ${js.split(name).length - 1} times`);
  }
  js = js.replace(key, `$1${short}:`);
}

fs.writeFileSync(wasmPath, Buffer.concat(parts));
fs.writeFileSync(jsPath, js);
console.log(`short-imports: ${renames.length} imports renamed`);
