// Waiting in a test or a benchmark for something that happens on its own time (a hub syncing, a card
// landing on an encoder): polls `probe` until it gives a truthy value and returns it, or fails naming
// what it waited for.
export async function until<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 8000, everyMs = 20): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
