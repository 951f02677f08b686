// Our code depends on webusb-types.ts, not on the `usb` package's types; these tests hold the two
// together. The check compiles in a program of its own: usb@3's typings need the global WebUSB
// declarations of @types/w3c-web-usb, which must not leak into the project's program (they declare
// classes such as USBDevice that exist in browsers but not in Node).
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadUsbModule } from './usb-module.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

function compile(source: string): string[] {
  const file = path.join(here, '__usb-typings-check.ts');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    types: ['node', 'w3c-web-usb'],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === file ? source : readFile(f));
  host.fileExists = (f) => f === file || fileExists(f);
  host.getSourceFile = (f, lang, onError, create) =>
    f === file ? ts.createSourceFile(f, source, lang, true) : getSourceFile(f, lang, onError, create);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const CHECK = `
import type { UsbDevice, UsbModule } from './webusb-types.ts';
type RealUsb = typeof import('usb')['usb'];
type RealDevice = Awaited<ReturnType<RealUsb['getDevices']>>[number];
type IsAny<T> = 0 extends 1 & T ? true : false;
export const noAnyDevice: IsAny<RealDevice> = false;
export const noAnyConfiguration: IsAny<RealDevice['configuration']> = false;
export const noAnyTransferIn: IsAny<RealDevice['transferIn']> = false;
export const asModule = (u: RealUsb): UsbModule => u;
export const asDevice = (d: RealDevice): UsbDevice => d;
export const detach: RealDevice['detachKernelDriver'] = async (_n: number) => {};
`;

describe('the usb package', () => {
  it("usb@3's own typings satisfy our WebUSB interfaces (and are not any)", () => {
    expect(compile(CHECK)).toEqual([]);
  });

  it('the check notices a mismatch', () => {
    const wrong = CHECK.replace("import type { UsbDevice, UsbModule } from './webusb-types.ts';", `
      import type { UsbDevice as Ours, UsbModule } from './webusb-types.ts';
      type UsbDevice = Ours & { transferIn(endpointNumber: string): Promise<void> };`);
    expect(compile(wrong).length).toBeGreaterThan(0);
  });

  it('loads, and is the usb@3 WebUSB object', async () => {
    const usb = await loadUsbModule();
    expect(typeof usb.getDevices).toBe('function');
    expect(typeof usb.findDeviceByIds).toBe('function');
    expect(typeof usb.addEventListener).toBe('function');
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('usb/package.json') as { version: string };
    expect(pkg.version).toMatch(/^3\./);
  });
});
