// The configuration of one BGP session and what follows from it alone: our OPEN and the FSM's
// settings. Pure.
import { Afi, type Capability, GracefulRestartFamilyFlag, openMessage, Safi } from '../../protocol/bgp';
import { parseIP } from '../../ipam/address';
import type { Clock } from '../../util/clock';
import type { Logger } from '../../util/log';
import type { BgpState, DownReason, FsmConfig, MessageKind } from './fsm';
import type { Connector, Dialer } from './transport';

export interface SessionConfig {
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly myASN: number;
  readonly peerASN: number;
  readonly holdTimeSeconds: number;
  /** 0 or undefined = hold / 3. */
  readonly keepaliveTimeSeconds?: number;
  /** Dotted IPv4; required (the owner defaults it to the node's IPv4 address). */
  readonly routerID: string;
  readonly sourceAddress?: string;
  readonly password?: string;
  readonly ebgpMultihop: boolean;
  /** NEXT_HOP for IPv4 prefixes when the session runs over IPv6. */
  readonly ipv4NextHop?: string;
  /** MP_REACH next hop for IPv6 prefixes when the session runs over IPv4. */
  readonly ipv6NextHop?: string;
  /** Graceful restart capability (RFC 4724) with this restart time; 0 = not advertised. */
  readonly gracefulRestartSeconds: number;
}

export interface SessionObserver {
  state?(state: BgpState, prev: BgpState, reason?: DownReason, detail?: string): void;
  message?(direction: 'sent' | 'received', kind: MessageKind): void;
  notification?(direction: 'sent' | 'received', code: number, subcode: number): void;
  advertised?(prefixes: number): void;
}

export interface SessionOptions extends SessionConfig {
  readonly log: Logger;
  readonly dialer?: Dialer;
  /** Opens the connection (default: TCP through `dialer`); tests pass a fake. */
  readonly connector?: Connector;
  readonly clock?: Clock;
  readonly observer?: SessionObserver;
  readonly connectRetry?: { readonly initialMs: number; readonly maxMs: number };
  readonly connectTimeoutMs?: number;
  /** Hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes). */
  readonly openHoldTimeSeconds?: number;
  /** Unsent output past which the session is reset (default DEFAULT_MAX_QUEUED_OCTETS). */
  readonly maxQueuedOctets?: number;
}

/** 4 MiB: hundreds of full re-advertisements of a large Service table, never reached by a peer that reads. */
export const DEFAULT_MAX_QUEUED_OCTETS = 4 * 1024 * 1024;

export function ipv4Number(text: string): number {
  const a = parseIP(text);
  if (a.family !== 4) throw new RangeError(`router ID ${text} is not an IPv4 address`);
  return Number(a.value);
}

function capabilities(gracefulRestartSeconds: number): Capability[] {
  const caps: Capability[] = [
    { kind: 'multiprotocol', afi: Afi.IPv4, safi: Safi.Unicast },
    { kind: 'multiprotocol', afi: Afi.IPv6, safi: Safi.Unicast },
    { kind: 'route-refresh' },
  ];
  if (gracefulRestartSeconds > 0) {
    caps.push({
      kind: 'graceful-restart',
      restartFlags: 0,
      restartTime: Math.min(gracefulRestartSeconds, 0xfff),
      // The data plane (kube-proxy) keeps forwarding while the speaker restarts.
      families: [
        { afi: Afi.IPv4, safi: Safi.Unicast, flags: GracefulRestartFamilyFlag.ForwardingPreserved },
        { afi: Afi.IPv6, safi: Safi.Unicast, flags: GracefulRestartFamilyFlag.ForwardingPreserved },
      ],
    });
  }
  return caps;
}

/** The FSM's settings: our OPEN and timers. */
export function fsmConfig(o: SessionOptions): FsmConfig {
  return {
    open: openMessage({ asn: o.myASN, holdTime: o.holdTimeSeconds, bgpIdentifier: ipv4Number(o.routerID), capabilities: capabilities(o.gracefulRestartSeconds) }),
    holdTimeSeconds: o.holdTimeSeconds,
    keepaliveTimeSeconds: o.keepaliveTimeSeconds,
    openHoldTimeSeconds: o.openHoldTimeSeconds ?? 240,
  };
}
