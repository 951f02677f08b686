// The typed client of the contract (core/contract): the only way the renderer reaches the core.
import { GatehouseError, type ContractEvents, type ContractName, type EventName, type InputOf, type ResultOf, type StreamName } from '../../../core/contract/index.ts';
import { httpTransport, ipcTransport, type ExportOutcome, type ExportRequest, type Transport } from './transport.ts';

type Listener = (payload: unknown) => void;

export class ContractClient {
  private token: string | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private stopEvents: (() => void) | null = null;
  /** Called when a call finds the session gone (expired, signed out elsewhere). */
  onSessionLost: () => void = () => {};

  constructor(private readonly transport: Transport) {}

  setToken(token: string | null): void {
    this.token = token;
    this.stopEvents?.();
    this.stopEvents = token ? this.transport.subscribe(token, (name, payload) => this.dispatch(name, payload)) : null;
  }

  async call<K extends ContractName>(name: K, input: InputOf<K>): Promise<ResultOf<K>> {
    const reply = await this.transport.call(name, input, this.token);
    if (reply.ok) return reply.result as ResultOf<K>;
    if (reply.error.code === 'unauthenticated' && this.token) this.onSessionLost();
    throw GatehouseError.fromBody(reply.error);
  }

  /** A contract stream into a file (see Transport.exportToFile); null when the user closed the save dialog. */
  async exportToFile(name: StreamName, input: Record<string, string>, request: ExportRequest): Promise<ExportOutcome | null> {
    if (!this.token) throw new GatehouseError('unauthenticated', 'Sign in first');
    try {
      return await this.transport.exportToFile(name, input, this.token, request);
    } catch (e) {
      if (e instanceof GatehouseError && e.code === 'unauthenticated') this.onSessionLost();
      throw e;
    }
  }

  on<E extends EventName>(event: E, fn: (payload: ContractEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as Listener);
    return () => set.delete(fn as Listener);
  }

  private dispatch(name: string, payload: unknown): void {
    for (const fn of this.listeners.get(name) ?? []) fn(payload);
  }
}

/** Electron IPC when the preload put window.gatehouse there, HTTP otherwise. */
export function createClient(): ContractClient {
  return new ContractClient(window.gatehouse ? ipcTransport(window.gatehouse) : httpTransport());
}

export const client = createClient();
