/**
 * Requests sent to a worker and waiting for their reply, by id: the one shape of the inference analyser's enrollment
 * jobs and memory probes. Ids come from the caller, so several maps can share one counter (a worker's `failed`
 * reply names an id without saying what kind of request it was).
 */
export class PendingRequests<T> {
  private readonly waiting = new Map<number, { resolve: (value: T) => void; reject: (err: Error) => void }>();

  /** Registers request `id`, then sends it (`send` throwing rejects it). */
  add(id: number, send: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      try {
        send();
      } catch (err) {
        this.waiting.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  has(id: number): boolean {
    return this.waiting.has(id);
  }

  /** Settles request `id`; false when no such request waits. */
  resolve(id: number, value: T): boolean {
    const entry = this.waiting.get(id);
    this.waiting.delete(id);
    entry?.resolve(value);
    return entry !== undefined;
  }

  reject(id: number, err: Error): boolean {
    const entry = this.waiting.get(id);
    this.waiting.delete(id);
    entry?.reject(err);
    return entry !== undefined;
  }

  /** Rejects every waiting request (the worker went away). */
  rejectAll(err: () => Error): void {
    const entries = [...this.waiting.values()];
    this.waiting.clear();
    for (const entry of entries) entry.reject(err());
  }
}
