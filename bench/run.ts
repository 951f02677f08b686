// `npm run bench [-- name…]`: runs the benchmarks (all, or those whose file name contains a given
// word), each printing one JSON line per figure. Record the results in docs/performance.md.
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((w) => f.includes(w)))
  .sort();
for (const f of files) {
  const mod = (await import(new URL(f, import.meta.url).href)) as { run(): Promise<void> };
  await mod.run();
}
