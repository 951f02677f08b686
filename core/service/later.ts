// Work a command or query finishes after its transaction: talking to a hub takes a round trip over a
// link, and no transaction may stay open across one. A handler validates and writes what it must in
// its transaction, then returns a Later; the service runs it once the transaction has committed and
// the caller (REST, IPC, CLI) gets its promise. Only handlers that talk to hardware return one.
export class Later<T> {
  constructor(readonly run: () => Promise<T>) {}
}

export function later<T>(run: () => Promise<T>): Later<T> {
  return new Later(run);
}
