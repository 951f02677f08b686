// The only place that touches the `usb` package. It is loaded on demand: its native part (a
// per-platform package such as @node-usb/usb-linux-x64-gnu) may be missing on a platform npm had no
// build for, and the rest of Gatehouse (TCP hubs, simulators) must work without it.
import type { UsbModule } from './webusb-types.ts';

export class UsbModuleMissingError extends Error {
  override readonly name = 'UsbModuleMissingError';
}

let loaded: Promise<UsbModule> | undefined;

/**
 * usb@3's `usb` export: a WebUSB object that allows every device (no requestDevice prompt).
 * `usb-module.test.ts` proves usb@3's own typings satisfy `UsbModule`, which is why the cast is sound.
 */
export function loadUsbModule(): Promise<UsbModule> {
  loaded ??= import('usb')
    .then((mod: { usb?: unknown; default?: { usb?: unknown } }) => {
      const usb = mod.usb ?? mod.default?.usb;
      if (!usb || typeof (usb as UsbModule).getDevices !== 'function') {
        throw new UsbModuleMissingError("the 'usb' package has no WebUSB 'usb' export (is it usb@3?)");
      }
      return usb as UsbModule;
    })
    .catch((err: unknown) => {
      // Do not pin a failure for the life of the process: the package may be installed later.
      loaded = undefined;
      if (err instanceof UsbModuleMissingError) throw err;
      throw new UsbModuleMissingError(`the 'usb' package could not be loaded: ${errorText(err)}`, { cause: err });
    });
  return loaded;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
