// Runs a definition with aws-local-stepfunctions and prints the best wall time in ms.
import { StateMachine } from 'aws-local-stepfunctions';
import { readFileSync } from 'node:fs';

const [defPath, inputPath, runs] = process.argv.slice(2);
const def = JSON.parse(readFileSync(defPath, 'utf8'));
const input = inputPath ? JSON.parse(readFileSync(inputPath, 'utf8')) : {};
const sm = new StateMachine(def, { validationOptions: { checkPaths: false, checkArn: false } });
let best = Infinity;
let result;
for (let i = 0; i < Number(runs || 3); i++) {
  const t0 = performance.now();
  const execution = sm.run(input);
  result = await execution.result;
  best = Math.min(best, performance.now() - t0);
}
console.log(JSON.stringify({ ms: best, ok: result !== undefined }));
