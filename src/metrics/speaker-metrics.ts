// Speaker metrics, mirroring MetalLB's metallb_speaker_* and metallb_layer2_* under ironlb_.
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';

export class SpeakerMetrics {
  readonly registry = new Registry();
  readonly announced = new Gauge({
    name: 'ironlb_speaker_announced',
    help: '1 while this node announces the address for the Service',
    labelNames: ['service', 'protocol', 'node', 'ip'],
    registers: [this.registry],
  });
  /** Each Worker thread is a V8 isolate of its own: its heap is not in nodejs_heap_size_total_bytes. */
  readonly workerHeap = new Gauge({
    name: 'ironlb_speaker_worker_heap_size_bytes',
    help: "V8 heap size (committed) of the speaker's Worker threads, by thread: responder",
    labelNames: ['thread'],
    registers: [this.registry],
  });
  /** What the one release after startup dropped from VmRSS (src/net/startup-pages.ts); 0 until then or when off. */
  readonly startupPagesReleased = new Gauge({
    name: 'ironlb_speaker_startup_pages_released_bytes',
    help: "Resident bytes of the node binary's pages the speaker stopped mapping once after startup (--release-startup-pages)",
    registers: [this.registry],
  });
  readonly membersAlive = new Gauge({ name: 'ironlb_speaker_members_alive', help: 'Speakers this node sees alive', registers: [this.registry] });
  readonly selfFenced = new Gauge({
    name: 'ironlb_speaker_fenced_bool',
    help: '1 while this speaker withdraws because it cannot renew its Lease and peers that reach the API server will soon drop it',
    registers: [this.registry],
  });
  readonly ownershipChanges = new Counter({
    name: 'ironlb_speaker_ownership_changes_total',
    help: 'Times this node gained or lost an address',
    labelNames: ['change'],
    registers: [this.registry],
  });
  readonly addressConflicts = new Counter({
    name: 'ironlb_layer2_address_conflicts_total',
    help: 'Address conflicts found: another host (a MAC none of our speakers has) uses an address; phase probing = found before the first announcement (not announced), announcing = while this node announced it (defended)',
    labelNames: ['phase'],
    registers: [this.registry],
  });
  readonly addressesInConflict = new Gauge({
    name: 'ironlb_layer2_addresses_in_conflict',
    help: 'Addresses this node holds back because another host answers for them (re-probed until they clear)',
    registers: [this.registry],
  });
  readonly heartbeatRtt = new Histogram({
    name: 'ironlb_speaker_heartbeat_rtt_seconds',
    help: 'Round-trip time of speaker heartbeats (our timestamp echoed back by the peer, its hold time subtracted)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  /** One pass of elections and route decisions after watch events: every Service, or only those touched. */
  readonly electionPass = new Summary({
    name: 'ironlb_speaker_election_pass_seconds',
    help: 'Time of one election pass, by scope: all (every Service re-elected), service (the one Service an event touched) or services (several touched Services coalesced into one pass)',
    labelNames: ['scope'],
    percentiles: [0.5, 0.99, 1],
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [this.registry],
  });
  readonly handovers = new Counter({
    name: 'ironlb_speaker_handovers_total',
    help: 'Make-before-break handovers of addresses this node announced and left by a planned exit (docs/maintenance.md), by how they ended',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly handoversUnderway = new Gauge({
    name: 'ironlb_speaker_handovers_underway',
    help: 'Addresses this node still answers for (quietly) while handing them over',
    registers: [this.registry],
  });
  readonly failoverReaction = new Histogram({
    name: 'ironlb_speaker_failover_reaction_seconds',
    help: 'Time from detecting a lost speaker to the first gratuitous ARP/NA this node sent for an address it took over',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly heartbeatDropped = new Counter({
    name: 'ironlb_speaker_heartbeat_dropped_total',
    help:
      'Heartbeats dropped, by reason: kernel (socket filter: not from a peer address or not heartbeat-shaped; or receive queue full), unknown-source, malformed, misaddressed (meant for another node), unknown-key, replayed, rate-limited (per-peer MAC-check limit), forged (bad HMAC)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly requests = this.counter('ironlb_layer2_requests_received', 'ARP requests and Neighbor Solicitations examined', ['protocol']);
  readonly responses = this.counter('ironlb_layer2_responses_sent', 'ARP replies and solicited Neighbor Advertisements sent', ['protocol']);
  readonly gratuitous = this.counter('ironlb_layer2_gratuitous_sent', 'Gratuitous ARP and unsolicited Neighbor Advertisements sent', ['protocol']);
  readonly drops = this.counter('ironlb_layer2_dropped_total', 'Packets examined and not answered, by reason', ['reason']);
  readonly sendFailures = this.counter('ironlb_layer2_send_failures_total', 'Packets that could not be sent', []);
  readonly socketDrops = this.counter('ironlb_layer2_socket_queue_drops_total', 'Frames the kernel dropped because the responder socket queue was full', []);
  readonly withheld = this.counter('ironlb_layer2_answers_withheld_total', "Answers the answer thread withheld because the speaker's main loop had not run within its answer window (a stalled or wedged main loop; its peers may own the addresses by then)", []);
  readonly dataPathHealthy = new Gauge({
    name: 'ironlb_speaker_datapath_healthy',
    help: "With --datapath-check: 1 while this node's data path (kube-proxy /healthz) counts healthy, 0 while the node is withdrawn from layer-2 elections (as NO_LAYER2)",
    registers: [this.registry],
  });
  readonly dataPathChecks = new Counter({
    name: 'ironlb_speaker_datapath_checks_total',
    help: 'Data-path health checks made (--datapath-check), by result (ok, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly serviceHealthChecks = new Counter({
    name: 'ironlb_speaker_service_health_checks_total',
    help: "Per-Service data-path checks made (healthCheckNodePort of Local Services in gated pools), by result (ok, failed)",
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly serviceHealthFailing = new Gauge({
    name: 'ironlb_speaker_service_health_failing',
    help: 'Pairs of (Local Service, node) whose healthCheckNodePort check fails as this node sees it: the node is passed over for that Service',
    registers: [this.registry],
  });
  readonly auditProbes = new Counter({
    name: 'ironlb_layer2_audit_probes_total',
    help: 'Announcement audit rounds this node ran as an auditor, by outcome: ok, silent (no answer from the owner nor another speaker), wrongMac (only another speaker answered), extraMac (the owner and another speaker answered)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly auditVerdicts = new Counter({
    name: 'ironlb_layer2_audit_failures_total',
    help: 'Announcement audit verdicts this node reached as an auditor (failed rounds in a row against an owner), by outcome: silent, wrongMac, extraMac',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly auditFailingAddresses = new Gauge({
    name: 'ironlb_layer2_audit_failing_addresses',
    help: 'Addresses this node audits whose owner currently fails the announcement audit',
    registers: [this.registry],
  });
  readonly auditReannounces = new Counter({
    name: 'ironlb_layer2_audit_reannounces_total',
    help: 'Times this node re-announced its addresses because a peer said it failed its announcement audit',
    registers: [this.registry],
  });
  readonly auditWithdrawn = new Gauge({
    name: 'ironlb_layer2_audit_withdrawn',
    help: '1 while the announcement audit keeps this node out of layer-2 elections (NO_LAYER2): its answers did not reach the wire even after re-announcing',
    registers: [this.registry],
  });
  readonly responderHealthy = new Gauge({
    name: 'ironlb_layer2_responder_healthy',
    help: '1 while the responder worker thread runs and makes progress; 0 while it is being replaced (the node is withdrawn as NO_LAYER2 meanwhile)',
    registers: [this.registry],
  });
  readonly responderRestarts = this.counter('ironlb_layer2_responder_restarts_total', 'Responder worker threads replaced, by cause (exited, stalled, failed)', ['cause']);
  // BGP (MetalLB's metallb_bgp_* under ironlb_; label `peer` is addr:port).
  readonly bgpSessionUp = new Gauge({ name: 'ironlb_bgp_session_up', help: '1 while the BGP session with the peer is Established', labelNames: ['peer'], registers: [this.registry] });
  readonly bgpMessagesSent = this.counter('ironlb_bgp_messages_sent_total', 'BGP messages sent, by type', ['peer', 'type']);
  readonly bgpMessagesReceived = this.counter('ironlb_bgp_messages_received_total', 'BGP messages received, by type', ['peer', 'type']);
  readonly bgpAnnouncedPrefixes = new Gauge({ name: 'ironlb_bgp_announced_prefixes_total', help: 'Prefixes the peer currently has from this speaker', labelNames: ['peer'], registers: [this.registry] });
  readonly bgpNotifications = this.counter('ironlb_bgp_notifications_total', 'BGP NOTIFICATIONs sent and received, by code/subcode name', ['peer', 'direction', 'code']);
  readonly bgpSessionDowns = this.counter('ironlb_bgp_session_down_total', 'BGP sessions that went down or failed to come up, by reason', ['peer', 'reason']);
  readonly configStale = new Gauge({ name: 'ironlb_k8s_client_config_stale_bool', help: '1 if the latest ConfigMap was invalid', registers: [this.registry] });
  readonly configLoaded = new Gauge({ name: 'ironlb_k8s_client_config_loaded_bool', help: '1 if a valid configuration is loaded', registers: [this.registry] });

  /** Last cumulative values seen from the responder, so counters advance by the difference. */
  private readonly last = new Map<string, number>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ironlb_speaker_' });
  }

  /** Advances a counter to a cumulative value reported by the worker. */
  advance(counter: Counter<string>, labels: Record<string, string>, cumulative: number): void {
    const key = `${(counter as unknown as { name: string }).name}|${JSON.stringify(labels)}`;
    const prev = this.last.get(key) ?? 0;
    if (cumulative > prev) counter.inc(labels, cumulative - prev);
    this.last.set(key, cumulative);
  }

  private counter(name: string, help: string, labelNames: string[]): Counter<string> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
