/**
 * The shape of the daemon's simple inputs — badge readers (a normalised badge number per read) and door contacts
 * or exit buttons (true = open / pressed): a source reports values to one listener from start() until stop().
 */
export interface InputSource<T> {
  readonly description: string;
  /** Reports every value from now on (a contact also reports its current value once at start). */
  start(onValue: (value: T) => void): void;
  stop(): Promise<void>;
}
