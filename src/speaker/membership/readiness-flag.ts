// A heartbeat flag this speaker raises while its peers must pass it over: NO_LAYER2 (no usable
// layer-2 interface: every layer-2 election) or DATAPATH_DOWN (kube-proxy fails its health check:
// the elections of pools with `datapath-check`). Back from the flag, the node holds itself out of
// its own elections for one heartbeat interval if the peers can have heard it (Layer2Readiness),
// so that it never announces an address a peer has not yet let go of.
import type { Logger } from '../../util/log';
import { FLAG_DATAPATH_DOWN, FLAG_NO_LAYER2 } from './heartbeat-codec';
import { Layer2Readiness } from './layer2-readiness';

export interface FlagKind {
  /** The heartbeat flag bit raised while not ready. */
  readonly bit: number;
  /** Logged when the flag is raised, and when it clears. */
  readonly unready: string;
  readonly back: string;
}

export const NO_LAYER2: FlagKind = { bit: FLAG_NO_LAYER2, unready: 'no usable layer-2 interface: asking the peers to elect others', back: 'layer-2 interface usable again: electable' };
export const DATAPATH_DOWN: FlagKind = {
  bit: FLAG_DATAPATH_DOWN,
  unready: 'data path failing its health check: asking the peers to pass us over for pools with datapath-check',
  back: 'data path healthy again: electable for pools with datapath-check',
};

export interface ReadinessFlagHooks {
  /** The flag changed (`ready`: cleared): re-elect, then send heartbeats at once. */
  changed(ready: boolean): void;
  /** The hold after clearing is over: re-elect (we may take addresses back now). */
  heldOver(): void;
}

export class ReadinessFlag {
  private readonly state = new Layer2Readiness();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly kind: FlagKind,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly hooks: ReadinessFlagHooks,
  ) {}

  get ready(): boolean {
    return this.state.ready;
  }

  /** Our own elections leave us out: flagged, or holding back after the flag cleared. */
  get excludesSelf(): boolean {
    return this.state.excludesSelf;
  }

  /** The bit to put in a heartbeat now (0 while ready). */
  get flags(): number {
    return this.state.ready ? 0 : this.kind.bit;
  }

  set(ready: boolean): void {
    // Back from unready: wait one interval for the peers to hear it and let go, but only if they
    // can have heard that we were unready (with the only link down, nothing went out).
    const { changed, hold } = this.state.set(ready);
    if (!changed) return;
    this.cancel();
    this.log.info(ready ? this.kind.back : this.kind.unready);
    this.hooks.changed(ready);
    if (hold) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.state.holdOver();
        this.hooks.heldOver();
      }, this.intervalMs);
    }
  }

  /** A heartbeat carrying these flags went out. */
  sent(flags: number): void {
    if ((flags & this.kind.bit) !== 0) this.state.toldUnready();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
