// Runs the core's utility-process entry (electron/main/core-process.ts) under plain Node, with a stand-in
// for Electron's process.parentPort carried over Node's IPC channel. For test/electron/core-process.test.ts:
//
//   fork('test/electron/core-process-child.ts', { execArgv: ['--import', 'tsx'], env: { GATEHOUSE_DATA_DIR } })
import { EventEmitter } from 'node:events';

const port = Object.assign(new EventEmitter(), {
  postMessage: (message: unknown) => process.send?.(message),
});
process.on('message', (data) => port.emit('message', { data, ports: [] }));
(process as unknown as { parentPort: unknown }).parentPort = port;

await import('../../electron/main/core-process.ts');
