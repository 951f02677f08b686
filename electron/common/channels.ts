// The IPC channels between the Gatehouse window and main: the only ones that exist. Shared by the
// preload (which sends on them) and main (which validates every message on them). Pure constants.
export const CHANNELS = {
  /** invoke: {name, input, token} → CallReply */
  call: 'gatehouse:call',
  /** send: token (string); starts pushing events for that session to this window */
  subscribe: 'gatehouse:subscribe',
  /** send: no arguments; stops pushing events to this window */
  unsubscribe: 'gatehouse:unsubscribe',
  /** main → renderer: (name, payload) */
  event: 'gatehouse:event',
  /** invoke: {name, input, token, suggested_name} → CallReply with an ExportResult, or null when the user closed the save dialog */
  export: 'gatehouse:export',
  /** send: no arguments; cancels this window's running export */
  exportCancel: 'gatehouse:export-cancel',
  /** main → renderer: {rows, total, bytes} of the running export */
  exportProgress: 'gatehouse:export-progress',
} as const;

export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];
