// Which speakers are alive. The layer-2 election only asks this interface, so the Lease-based
// implementation can be replaced by (or fenced with) a faster heartbeat layer.
export interface Membership {
  /** Starts what takes a while and needs nothing yet (a worker thread), so that it overlaps the
   * speaker's other start-up work; start() waits for it. */
  prepare?(): void;
  start(): Promise<void>;
  /** Leaves gracefully: the others stop counting this node at once. */
  stop(): Promise<void>;
  /** Node names whose speaker is alive now (this node included while running). */
  alive(): ReadonlySet<string>;
  /** Called whenever alive() changes. */
  onChange(cb: () => void): void;
  /** Whether the member list has been read at least once. */
  readonly synced: boolean;
  /** Start-up is over and this node can announce: peers may elect it from now on. Until then
   * (heartbeat membership) they hear it but hand it nothing. */
  markReady?(): void;
  /** Whether this node has a usable layer-2 interface; shared with the peers where supported. */
  setLayer2Ready?(ready: boolean): void;
  /** Alive speakers (this one included) that cannot announce on layer 2 now: the layer-2 election
   * skips them. */
  layer2Unready?(): ReadonlySet<string>;
  /** Whether this node's data path answers its health check; shared with the peers where supported. */
  setDataPathReady?(ready: boolean): void;
  /** Alive speakers (this one included) whose data path fails its health check: the layer-2
   * elections of pools with `datapath-check` skip them. */
  dataPathDown?(): ReadonlySet<string>;
  /** Announcement audit (heartbeat membership only): tell each peer whether it failed our audit. */
  setAuditVerdicts?(silent: ReadonlySet<string>, contested: ReadonlySet<string>): void;
  /** Peers whose heartbeats say this node failed their audit. */
  auditAccusers?(): { silent: ReadonlySet<string>; contested: ReadonlySet<string> };
  /** Called when a peer's audit flags for us change. */
  onAuditChange?(cb: () => void): void;
  /** Date.now() when a peer was last found gone (not when one left gracefully or we did). */
  readonly lastLossAt?: number;
}
