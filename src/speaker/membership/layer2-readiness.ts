// This node's own layer-2 readiness as its elections see it. Back from NO_LAYER2, a node that told
// its peers it was unready holds back for one heartbeat interval, so that it never announces an
// address a peer has not yet handed over. The hold ends when its timer says so (holdOver), not by
// comparing clocks: a timer may fire a fraction of a millisecond before performance.now() says the
// interval has passed (libuv keeps a millisecond loop clock), and a comparison then kept the node
// out of every election until some unrelated event came (seen in responder-faults e2e: a node whose
// worker was replaced stayed unelected for good).

export class Layer2Readiness {
  private usable = true;
  /** A NO_LAYER2 heartbeat left this host since we became unready: peers may have passed us over. */
  private told = false;
  private holding = false;

  get ready(): boolean {
    return this.usable;
  }

  /**
   * Records a change; `hold`: back to ready after the peers heard us unready, so the caller keeps
   * us out of our own elections until it calls holdOver() one interval later.
   */
  set(ready: boolean): { changed: boolean; hold: boolean } {
    if (ready === this.usable) return { changed: false, hold: false };
    this.usable = ready;
    this.holding = ready && this.told;
    this.told = false;
    return { changed: true, hold: this.holding };
  }

  /** A heartbeat saying NO_LAYER2 went out. */
  toldUnready(): void {
    if (!this.usable) this.told = true;
  }

  holdOver(): void {
    this.holding = false;
  }

  /** Our own elections leave us out: unready, or holding back after being unready. */
  get excludesSelf(): boolean {
    return !this.usable || this.holding;
  }
}
