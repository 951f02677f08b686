// Finding IQ hubs on USB: a list now, attach/detach as they come and go, and a plain answer to
// "can this computer use USB hubs at all?".
import { invokeListener } from './byte-stream.ts';
import { classifyUsbError, IQ_HUB_USB_IDS, noPermissionMessage, noUsbMessage } from './usb-diagnostics.ts';
import { errorText, loadUsbModule } from './usb-module.ts';
import { formatUsbIds, sameUsbDevice, type UsbConnectionListener, type UsbDevice, type UsbIds, type UsbModule } from './webusb-types.ts';

export function isHub(device: UsbDevice, ids: UsbIds = IQ_HUB_USB_IDS): boolean {
  return device.vendorId === ids.vendorId && device.productId === ids.productId;
}

/** The hubs plugged in now. Rejects when USB cannot be enumerated (see usbAvailability for why). */
export async function listHubs(usb: Pick<UsbModule, 'getDevices'>, ids: UsbIds = IQ_HUB_USB_IDS): Promise<UsbDevice[]> {
  return (await usb.getDevices()).filter((d) => isHub(d, ids));
}

export interface HubWatchHandlers {
  attach(device: UsbDevice): void;
  detach(device: UsbDevice): void;
  /** USB could not be enumerated; no events will follow. Default: ignored (ready resolves false). */
  error?(err: unknown): void;
}

export interface HubWatch {
  /** Resolves true once watching (the hubs already present have been reported), false if USB could not be enumerated. Never rejects. */
  readonly ready: Promise<boolean>;
  stop(): void;
}

/**
 * Reports every hub present now and every hub plugged in or pulled out later, each plug-in once.
 *
 * USB is enumerated before any listener is added on purpose: usb@3, on a system without USB, rejects
 * inside addEventListener (an enumeration it starts itself, without a catch), which would surface as
 * an unhandled rejection. So: list, and only if that works, subscribe and list again to catch a hub
 * plugged in between.
 */
export function watchHubs(usb: UsbModule, handlers: HubWatchHandlers, options: { ids?: UsbIds } = {}): HubWatch {
  const ids = options.ids ?? IQ_HUB_USB_IDS;
  const present: UsbDevice[] = [];
  let stopped = false;
  let subscribed = false;

  const attach = (device: UsbDevice): void => {
    if (stopped || !isHub(device, ids) || present.some((d) => sameUsbDevice(d, device))) return;
    present.push(device);
    invokeListener((d: UsbDevice) => handlers.attach(d), device);
  };
  const detach = (device: UsbDevice): void => {
    const i = present.findIndex((d) => sameUsbDevice(d, device));
    if (stopped || i < 0) return;
    const [known] = present.splice(i, 1);
    invokeListener((d: UsbDevice) => handlers.detach(d), known!);
  };
  const onConnect: UsbConnectionListener = (ev) => attach(ev.device);
  const onDisconnect: UsbConnectionListener = (ev) => detach(ev.device);

  const ready = (async (): Promise<boolean> => {
    try {
      const first = await usb.getDevices();
      if (stopped) return false;
      usb.addEventListener('connect', onConnect);
      usb.addEventListener('disconnect', onDisconnect);
      subscribed = true;
      first.forEach(attach);
      (await usb.getDevices()).forEach(attach);
      return !stopped;
    } catch (err) {
      if (subscribed) {
        usb.removeEventListener('connect', onConnect);
        usb.removeEventListener('disconnect', onDisconnect);
        subscribed = false;
      }
      if (handlers.error) invokeListener((e: unknown) => handlers.error!(e), err);
      return false;
    }
  })();

  return {
    ready,
    stop() {
      if (stopped) return;
      stopped = true;
      // usb@3 stops its native hotplug watcher when its last listener goes.
      if (subscribed) {
        usb.removeEventListener('connect', onConnect);
        usb.removeEventListener('disconnect', onDisconnect);
      }
    },
  };
}

export type UsbUnavailableReason = 'no_usb_subsystem' | 'no_permission' | 'module_missing';

export type UsbAvailability =
  | { readonly ok: true; readonly hubs: number }
  | { readonly ok: false; readonly reason: UsbUnavailableReason; readonly message: string; readonly detail: string };

export interface UsbAvailabilityOptions {
  /** Default: the real `usb` package (loadUsbModule). */
  readonly load?: () => Promise<UsbModule>;
  readonly ids?: UsbIds;
  /** Default process.platform; the udev advice only applies to Linux. */
  readonly platform?: NodeJS.Platform;
  /**
   * Open and close each hub found to see whether Gatehouse may use it. Default: on Linux only, where
   * udev permissions are the usual problem and opening claims nothing, so it disturbs no program that
   * has the hub open (Windows' WinUSB allows one open handle: a probe would fail for a hub in use).
   */
  readonly probeOpen?: boolean;
}

/**
 * Whether this computer can use IQ hubs over USB, and if not, why in words an admin can act on.
 * Never throws: every failure of the USB stack is an answer.
 */
export async function usbAvailability(options: UsbAvailabilityOptions = {}): Promise<UsbAvailability> {
  const ids = options.ids ?? IQ_HUB_USB_IDS;
  const linux = (options.platform ?? process.platform) === 'linux';
  let usb: UsbModule;
  try {
    usb = await (options.load ?? loadUsbModule)();
  } catch (err) {
    return {
      ok: false,
      reason: 'module_missing',
      detail: errorText(err),
      message:
        `Gatehouse's USB support is not installed on this computer. Reinstall Gatehouse to connect IQ hubs ` +
        `by USB; hubs on the network (TCP) work without it. (Details: ${errorText(err)})`,
    };
  }

  let devices: UsbDevice[];
  try {
    devices = await usb.getDevices();
  } catch (err) {
    if (classifyUsbError(err) === 'no_permission') return noPermission(err, ids, linux, 'USB devices cannot be listed');
    return {
      ok: false,
      reason: 'no_usb_subsystem',
      detail: errorText(err),
      message: noUsbMessage(err, ids, linux),
    };
  }

  const hubs = devices.filter((d) => isHub(d, ids));
  if (options.probeOpen ?? linux) {
    for (const hub of hubs) {
      if (hub.opened) continue;
      try {
        await hub.open();
        await hub.close().catch(() => {});
      } catch (err) {
        if (classifyUsbError(err) === 'no_permission') return noPermission(err, ids, linux, `The IQ hub (USB ${formatUsbIds(ids)}) was found but may not be opened`);
        // Unplugged meanwhile, or busy: not an availability problem; opening it for real will say more.
      }
    }
  }
  return { ok: true, hubs: hubs.length };
}

function noPermission(err: unknown, ids: UsbIds, linux: boolean, what: string): UsbAvailability {
  return { ok: false, reason: 'no_permission', detail: errorText(err), message: noPermissionMessage(err, ids, linux, what) };
}
