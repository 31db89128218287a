// Which speakers are alive. The layer-2 election only asks this interface, so the Lease-based
// implementation can be replaced by (or fenced with) a faster heartbeat layer.
export interface Membership {
  start(): Promise<void>;
  /** Leaves gracefully: the others stop counting this node at once. */
  stop(): Promise<void>;
  /** Node names whose speaker is alive now (this node included while running). */
  alive(): ReadonlySet<string>;
  /** Called whenever alive() changes. */
  onChange(cb: () => void): void;
  /** Whether the member list has been read at least once. */
  readonly synced: boolean;
}
