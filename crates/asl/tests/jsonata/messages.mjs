// Records jsonata-js 2.0.6's error message for every case of suite-2.0.6.jsonl that fails,
// as AWS quotes it ("T2001: The left side of the + operator must evaluate to a number"),
// into messages-2.0.6.json ({id: message}). Needs bench/jsonata-js's node_modules.
// Usage: node messages.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../../bench/jsonata-js/', import.meta.url));
const jsonata = require('jsonata');
const datasets = JSON.parse(readFileSync('datasets-2.0.6.json', 'utf8'));
const out = {};
for (const line of readFileSync('suite-2.0.6.jsonl', 'utf8').split('\n')) {
  if (!line) continue;
  let c;
  try { c = JSON.parse(line); } catch { continue; }
  // The suite runs these with a time box and a depth limit jsonata-js 2.0.6 lacks itself.
  if (!c.code || c.id.startsWith('tail-recursion/')) continue;
  const data = c.dataset !== undefined ? datasets[c.dataset] : c.data;
  try {
    await jsonata(c.expr).evaluate(data, c.bindings || {});
  } catch (e) {
    if (e.code) out[c.id] = `${e.code}: ${e.message}`;
  }
}
writeFileSync('messages-2.0.6.json', JSON.stringify(out, null, 0));
console.log(Object.keys(out).length);
