// Writes tiktoken's GPT-2 tokens of a UTF-8 text file as little-endian uint32 (the reference
// the BPE test compares against). Usage: node tiktoken_encode.js NODE_MODULES IN OUT
// With a 4th argument "bench", prints the encoding speed in MB/s (median of 3 warm passes).
const path = require('path');
const fs = require('fs');
const { get_encoding } = require(path.join(process.argv[2], 'tiktoken'));
const enc = get_encoding('gpt2');
const text = fs.readFileSync(process.argv[3], 'utf8');
if (process.argv[5] === 'bench') {
  enc.encode_ordinary(text);
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    enc.encode_ordinary(text);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ mbs: Buffer.byteLength(text, 'utf8') / 1e6 / times[1] }));
} else {
  const toks = enc.encode_ordinary(text);
  fs.writeFileSync(process.argv[4], Buffer.from(toks.buffer, toks.byteOffset, toks.byteLength));
}
enc.free();
