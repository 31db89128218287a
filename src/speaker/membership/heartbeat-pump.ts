// The JS side of the heartbeat pump (native/src/heartbeat_pump.c): a native thread that receives
// the heartbeat datagrams and sends the heartbeats the main thread signed ahead. It replaced a
// Worker thread (a second V8 isolate, ~8 MiB: docs/footprint.md) and keeps what that worker was
// for: no volume of datagrams on port 7946 reaches the main thread beyond the per-peer rate (the
// pump drops the rest unparsed), arrival times are taken in the pump (a late read is not a late
// heartbeat), and a stall of the main loop does not silence this speaker within the signed
// horizon (the pump sends on its own clock).
//
// The pump parses nothing and holds no key: each datagram it passes on is checked here, on the
// main thread (heartbeat-admission.ts), at most `ratePerSecond` per peer and second.
import { PUMP_SLOT, type IronlbNative, type PumpHandle, type PumpOptions, type PumpStats } from '../../net/native';

/** Datagrams moved per pumpTake call. */
const BATCH = 64;

export interface PumpedDatagram {
  /** The datagram (a view valid only during the callback); undefined when longer than a slot. */
  data: Buffer | undefined;
  family: 4 | 6;
  /** The source address bytes (4 or 16; a view valid only during the callback). */
  source: Uint8Array;
  /** Arrival in the pump, ms on process.hrtime's clock. */
  at: number;
}

export interface ScheduledSend {
  fd: number;
  address: string;
  port: number;
  packets: readonly Uint8Array[];
  offsetsMs: readonly number[];
}

export class HeartbeatPump {
  private readonly handle: PumpHandle;
  private readonly buf = Buffer.alloc(PUMP_SLOT * BATCH);
  private readonly meta = new Float64Array(3 * BATCH);
  private readonly addrs = new Uint8Array(16 * BATCH);
  private stopped = false;

  constructor(
    private readonly native: IronlbNative,
    options: PumpOptions,
    private readonly onDatagram: (d: PumpedDatagram) => void,
  ) {
    this.handle = native.pumpStart(() => this.drain(), options);
  }

  /** Takes every queued datagram (the pump calls this when its queue stops being empty). */
  drain(): void {
    while (!this.stopped) {
      const n = this.native.pumpTake(this.handle, this.buf, this.meta, this.addrs);
      for (let i = 0; i < n; i++) {
        const len = this.meta[3 * i];
        const family = this.meta[3 * i + 1] === 4 ? 4 : 6;
        this.onDatagram({
          data: len < 0 ? undefined : this.buf.subarray(PUMP_SLOT * i, PUMP_SLOT * i + len),
          family,
          source: this.addrs.subarray(16 * i, 16 * i + (family === 4 ? 4 : 16)),
          at: this.meta[3 * i + 2],
        });
      }
      if (n < BATCH) return;
    }
  }

  sockets(fds: readonly number[]): void {
    this.native.pumpSockets(this.handle, fds);
  }

  sources(addresses: readonly string[]): void {
    this.native.pumpSources(this.handle, addresses);
  }

  schedule(peers: readonly ScheduledSend[]): void {
    this.native.pumpSchedule(this.handle, peers);
  }

  stats(): PumpStats {
    return this.native.pumpStats(this.handle);
  }

  /** The source addresses some of whose datagrams were rate-limited since the previous call. */
  limitedSources(): string[] {
    return this.native.pumpLimitedSources(this.handle);
  }

  /** Tests: the manual clock (the pump must have been started with `manualClockMs`). */
  setClock(ms: number): number {
    return this.native.pumpSetClock(this.handle, ms);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.native.pumpStop(this.handle);
  }
}
