// What the release build's WASM edits (drop-hydrate-async.js,
// short-imports.js) share: LEB128 numbers and the module's section list.
'use strict';

/** An unsigned LEB128 number at `pos`: [value, position after it]. */
function readU32(buf, pos) {
  let result = 0, shift = 0, byte;
  do {
    byte = buf[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, pos];
}

/** `n` as unsigned LEB128. */
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

/** The sections after the 8-byte header: { id, body } in file order. */
function sections(wasm) {
  if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error('not a WASM module');
  const out = [];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos];
    const [size, start] = readU32(wasm, pos + 1);
    out.push({ id, body: wasm.subarray(start, start + size) });
    pos = start + size;
  }
  return out;
}

/** A module from the header of `wasm` and `list`'s sections. */
function assemble(wasm, list) {
  const out = [wasm.subarray(0, 8)];
  for (const s of list) out.push(Buffer.from([s.id]), u32(s.body.length), s.body);
  return Buffer.concat(out);
}

module.exports = { readU32, u32, sections, assemble };
