// Turning what the USB stack says into what a facility admin can act on. The stacks speak three
// dialects: usb@3/nusb ("open error: Permission denied (os error 13)", "transferIn error: Stall"),
// libusb via usb@2 (LIBUSB_ERROR_ACCESS, LIBUSB_ERROR_PIPE) and WebUSB (DOMException names such as
// NotFoundError, SecurityError, AbortError). All three are recognised here and nowhere else.
import { errorText } from './usb-module.ts';
import { hex4, type UsbIds } from './webusb-types.ts';

/** The placeholder identity of the IQ hub's USB link; see build/linux/70-gatehouse.rules and docs/transports.md. */
export const IQ_HUB_USB_IDS: UsbIds = Object.freeze({ vendorId: 0x1209, productId: 0x000c });

export const UDEV_RULES_FILE = '70-gatehouse.rules';
export const UDEV_RULES_PATH = `/etc/udev/rules.d/${UDEV_RULES_FILE}`;
export const UDEV_RELOAD_COMMAND = 'sudo udevadm control --reload-rules && sudo udevadm trigger';

/**
 * The udev line that lets the person at the desktop (uaccess) and the plugdev group open the hub.
 * For the default identity this is, character for character, the hub's line in
 * build/linux/70-gatehouse.rules (a test holds them together).
 */
export function hubUdevRule(ids: UsbIds = IQ_HUB_USB_IDS): string {
  return (
    `SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="${hex4(ids.vendorId)}", ` +
    `ATTR{idProduct}=="${hex4(ids.productId)}", MODE="0660", GROUP="plugdev", TAG+="uaccess"`
  );
}

/** What a message is about: the device by name, and what still works when USB does not. */
export interface UsbDeviceRole {
  /** "the hub", "the card encoder". */
  noun: string;
  withoutUsb: string;
}

export const HUB_ROLE: UsbDeviceRole = { noun: 'the hub', withoutUsb: 'IQ hubs on the network (TCP) still work.' };
export const ENCODER_ROLE: UsbDeviceRole = { noun: 'the card encoder', withoutUsb: 'Cards cannot be encoded on this computer.' };

/** The paragraph every "no permission" message ends with. */
export function udevAdvice(ids: UsbIds = IQ_HUB_USB_IDS, role: UsbDeviceRole = HUB_ROLE): string {
  return (
    `Gatehouse needs a udev rule to use ${role.noun} without administrator rights. The Gatehouse .deb package ` +
    `installs it; otherwise create the file ${UDEV_RULES_PATH} (${UDEV_RULES_FILE}, shipped in the ` +
    `package's resources/udev folder) containing this line:\n` +
    `  ${hubUdevRule(ids)}\n` +
    `then run: ${UDEV_RELOAD_COMMAND}\n` +
    `and unplug and replug ${role.noun}.`
  );
}

/** USB cannot be enumerated at all (no /sys/bus/usb, no libusb backend). */
export function noUsbMessage(err: unknown, ids: UsbIds = IQ_HUB_USB_IDS, linux = process.platform === 'linux', role: UsbDeviceRole = HUB_ROLE): string {
  return (
    `USB is not available on this computer: the system has no USB support` +
    (/\/sys\/bus\/usb/.test(errorText(err)) ? ' (/sys/bus/usb is missing)' : '') +
    `, or USB is hidden from Gatehouse (a container or virtual machine without USB passthrough). ` +
    role.withoutUsb +
    (linux ? `\nOn a computer with USB, ${udevAdvice(ids, role)}` : '')
  );
}

/** `what` opens the message, e.g. "The IQ hub (USB 1209:000c) was found but may not be opened". */
export function noPermissionMessage(
  err: unknown,
  ids: UsbIds = IQ_HUB_USB_IDS,
  linux = process.platform === 'linux',
  what = 'The IQ hub may not be used',
  role: UsbDeviceRole = HUB_ROLE,
): string {
  return (
    `${what}: Gatehouse has no permission (${errorText(err)}).\n` +
    (linux
      ? udevAdvice(ids, role)
      : `Give the account that runs Gatehouse access to USB devices (the udev rule ${UDEV_RULES_FILE} is for Linux only).`)
  );
}

export type UsbErrorKind =
  | 'disconnected'
  | 'stall'
  | 'timeout'
  | 'aborted'
  | 'no_permission'
  | 'busy'
  | 'no_usb_subsystem'
  | 'other';

/** Order matters: "Permission denied" on /sys/bus/usb is a permission problem, not a missing subsystem. */
export function classifyUsbError(err: unknown): UsbErrorKind {
  const name = typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : '';
  const text = errorText(err);
  if (name === 'NotFoundError' || /\bdisconnected\b|LIBUSB_ERROR_NO_DEVICE|\bENODEV\b|no such device/i.test(text)) {
    return 'disconnected';
  }
  if (name === 'SecurityError' || /permission denied|os error 13\b|\bEACCES\b|\bEPERM\b|LIBUSB_ERROR_ACCESS|access denied/i.test(text)) {
    return 'no_permission';
  }
  if (/\bstall(ed)?\b|LIBUSB_ERROR_PIPE|LIBUSB_TRANSFER_STALL/i.test(text)) return 'stall';
  // usb@3 cancels a transfer whose timeout expired and reports it as "Cancelled".
  if (/\bcancell?ed\b|timed out|LIBUSB_ERROR_TIMEOUT|LIBUSB_TRANSFER_TIMED_OUT|\bETIMEDOUT\b/i.test(text)) return 'timeout';
  if (name === 'AbortError' || /\baborted\b/i.test(text)) return 'aborted';
  if (/\bbusy\b|LIBUSB_ERROR_BUSY|\bEBUSY\b/i.test(text)) return 'busy';
  if (/\/sys\/bus\/usb|\/dev\/bus\/usb|LIBUSB_ERROR_NOT_SUPPORTED|LIBUSB_ERROR_NO_MEM/i.test(text)) return 'no_usb_subsystem';
  return 'other';
}
