// Audit retention as the running installations apply it (the headless host and the desktop's core
// process): small batches with a yield between them, so that device ingest and API calls are never
// held up for more than one short transaction.
import { systemActor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';

export function runRetention(service: GatehouseService, log: (line: string) => void, stopped: () => boolean = () => false): void {
  const sys = systemActor('retention');
  const step = () => {
    if (stopped()) return;
    try {
      const r = service.run(sys, 'audit.retention.run', { max_rows: 5000 });
      if (!r.complete) setImmediate(step);
    } catch (e) {
      log(`[error] audit retention: ${(e as Error).message}`);
    }
  };
  setImmediate(step);
}
