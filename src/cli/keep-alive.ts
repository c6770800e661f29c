/**
 * Whether a command took over the process (the daemon): main() then leaves the exit to the command's signal
 * handlers instead of exiting when the action returns.
 */
let keptAlive = false;

export function keepProcessAlive(): void {
  keptAlive = true;
}

export function processKeptAlive(): boolean {
  return keptAlive;
}
