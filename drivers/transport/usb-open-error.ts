// Why a USB device (an IQ hub's link, a card encoder) could not be opened: one error for every USB
// driver, so a composition root reports them all the same way. The message is for the admin: it
// names the device and says what to do (udev rule, pcscd, replug).

export type UsbOpenFailure = 'no_usb_subsystem' | 'not_found' | 'no_permission' | 'busy' | 'no_interface' | 'disconnected' | 'failed';

export class UsbOpenError extends Error {
  override readonly name = 'UsbOpenError';
  constructor(
    readonly code: UsbOpenFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
