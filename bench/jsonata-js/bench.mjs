// jsonata-js (2.0.6, the version AWS Step Functions runs) timed on the expressions of
// crates/asl/benches/jsonata.rs. Usage: node bench.mjs <spec.json>
// The spec holds {input, context, seconds, expressions: [{name, expr}]}; each expression is
// compiled once, bound to $states = {input, context} as Step Functions binds it, warmed up,
// then evaluated for `seconds`. Prints one JSON line per expression: {name, ops_per_sec}.
import { readFileSync } from 'node:fs';
import jsonata from 'jsonata';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const states = { input: spec.input, context: spec.context };

// Step Functions' $partition (not in jsonata-js): chunks of `size`.
function partition(array, size) {
  const out = [];
  for (let i = 0; i < array.length; i += size) out.push(array.slice(i, i + size));
  return out;
}

for (const { name, expr } of spec.expressions) {
  const e = jsonata(expr);
  e.registerFunction('partition', partition, '<an:a>');
  const once = async () => e.evaluate(undefined, { states });
  const first = await once();
  if (first === undefined) throw new Error(`${name}: undefined`);
  const warm = Date.now() + 200;
  while (Date.now() < warm) await once();
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(spec.seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 10; i++) await once();
    n += 10;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  console.log(JSON.stringify({ name, ops_per_sec: n / secs }));
}
