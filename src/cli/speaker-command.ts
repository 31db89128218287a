// `ironlb speaker`: one per node (DaemonSet, host network, CAP_NET_RAW).
import { loadKubeFromFlags } from '../k8s/kube';
import { SpeakerMetrics } from '../metrics/speaker-metrics';
import { startMetricsServer } from '../metrics/server';
import { DEFAULT_EXCLUDE, listInterfaces, parseExcludePatterns } from '../net/interfaces';
import { Speaker, type SpeakerOptions } from '../speaker/speaker';
import { createLogger, type Level } from '../util/log';
import { stdoutLines } from '../util/line-writer';
import { installDebugStall } from '../util/debug-stall';
import { loadNative } from '../net/native';
import { STARTUP_PAGES_DELAY_MS, scheduleStartupPageRelease } from '../net/startup-pages';
import { FlagError, parseFlags, usage, type FlagSpec } from './flags';
import { configSourceFlag, recheckSeconds } from './config-source-flag';
import { DEFAULT_RESPONDER_THREAD, type ResponderThreadKind } from '../speaker/layer2/responder';

export const SPEAKER_FLAGS = {
  kubeconfig: { kind: 'string', help: 'kubeconfig file; in-cluster credentials when absent', env: 'KUBECONFIG' },
  'node-name': { kind: 'string', help: 'this node (required)', env: 'NODE_NAME' },
  'node-address': { kind: 'string', help: "this node's address, published in its Lease (default: first global IPv4)", env: 'NODE_IP' },
  namespace: { kind: 'string', default: 'ironlb-system', help: 'namespace of the speaker Leases', env: 'POD_NAMESPACE' },
  'config-namespace': { kind: 'string', help: 'namespace of the configuration ConfigMap (default: --namespace)', env: 'IRONLB_CONFIG_NAMESPACE' },
  'config-name': { kind: 'string', default: 'config', help: 'name of the configuration ConfigMap', env: 'IRONLB_CONFIG_NAME' },
  'config-source': { kind: 'string', default: 'auto', help: 'auto (the metallb.io objects when an IPAddressPool exists in the config namespace, else the ConfigMap), configmap or crds', env: 'IRONLB_CONFIG_SOURCE' },
  'read-peer-secrets': { kind: 'boolean', help: 'metallb.io objects: read the kubernetes.io/basic-auth Secrets BGPPeers name (passwordSecret) in the config namespace; needs list/watch on Secrets there (docs/configuration.md)' },
  'config-source-recheck': { kind: 'string', default: '30', help: 'with --config-source=auto: seconds between looks at which source applies (an IPAddressPool created later switches to the objects)' },
  'lb-class': { kind: 'string', help: 'serve only Services with this spec.loadBalancerClass' },
  'metrics-addr': { kind: 'string', default: ':7472', help: 'listen address for /metrics, /healthz, /readyz' },
  'exclude-interfaces': { kind: 'string', help: 'comma-separated regular expressions of interface names never used (default: MetalLB\'s list)' },
  interfaces: { kind: 'string', help: 'comma-separated interface names to use for every pool (default: all eligible)' },
  'responder-thread': { kind: 'string', default: DEFAULT_RESPONDER_THREAD, help: "where ARP and NDP are answered: native (a thread of the addon; the rest of the responder on the main thread) or worker (a worker thread with its own V8 isolate, ~8 MiB more)", env: 'IRONLB_RESPONDER_THREAD' },
  'release-startup-pages': { kind: 'boolean', default: true, help: "10 s after start, stop mapping the node binary's pages that startup touched once (~20 MiB less VmRSS; pages in use come back from the page cache; docs/footprint.md). --release-startup-pages=false: keep them", env: 'IRONLB_RELEASE_STARTUP_PAGES' },
  'gratuitous-refresh': { kind: 'string', default: '60', help: 'seconds between periodic gratuitous ARP/NA refreshes; 0 = off' },
  'lease-duration': { kind: 'string', default: '6', help: 'seconds without renewal after which a speaker is dead' },
  'lease-renew': { kind: 'string', default: '2', help: 'seconds between renewals of this speaker\'s Lease' },
  heartbeat: { kind: 'boolean', default: true, help: 'UDP heartbeats between speakers for sub-second failover (--heartbeat=false: Leases only)' },
  'heartbeat-port': { kind: 'string', default: '7946', help: 'UDP port of the speaker heartbeats' },
  'heartbeat-interval-ms': { kind: 'string', default: '100', help: 'milliseconds between heartbeats; a silent peer is dead after 2 to 5 intervals, by the rhythm of its heartbeats (docs/failover.md)' },
  'heartbeat-adaptive': { kind: 'boolean', default: true, help: "a peer's dead interval follows its own heartbeat rhythm, between --heartbeat-min-dead-intervals and --heartbeat-dead-intervals (--heartbeat-adaptive=false: always the latter)" },
  'heartbeat-min-dead-intervals': { kind: 'string', default: '2', help: 'heartbeat intervals of silence after which even the steadiest peer is dead (the adaptive floor)' },
  'heartbeat-dead-intervals': { kind: 'string', default: '5', help: 'heartbeat intervals of silence after which any peer is dead (the adaptive ceiling; 3 to 100)' },
  'heartbeat-send-ahead-ms': { kind: 'string', default: '300', help: 'a main-loop stall this long does not interrupt our heartbeats (signed ahead, sent by a worker thread); also how long they outlive a wedged main loop. 0: sent by the main loop' },
  'node-address-v6': { kind: 'string', help: "BGP: this node's IPv6 address, the next hop of IPv6 prefixes sent over IPv4 sessions (default: first global IPv6)", env: 'NODE_IPV6' },
  'bgp-graceful-restart-time': { kind: 'string', default: '120', help: 'BGP: restart time (seconds) in the graceful restart capability; 0 = do not advertise graceful restart' },
  'service-conditions': { kind: 'boolean', default: true, help: 'keep the ironlb.io/Announced condition in the status.conditions of layer-2 Services (--service-conditions=false: never written; needs patch on services/status)' },
  'conflict-detection': { kind: 'boolean', default: true, help: 'probe an address (ARP probe / DAD) before its first announcement and watch for other hosts using announced ones (--conflict-detection=false: off)' },
  'announcement-audit': { kind: 'boolean', default: true, help: "the next node in each address's election order probes it and expects one answer, from the owner's MAC; an owner that fails re-announces, then withdraws from layer 2 (docs/announcement-audit.md; --announcement-audit=false: off)" },
  'announcement-audit-interval-ms': { kind: 'string', default: '2000', help: 'with --announcement-audit: milliseconds between two audit probes of one address (jittered ±20 %; a failed round is retried after 500 ms)' },
  'datapath-check': { kind: 'string', default: 'off', help: "off, or kube-proxy: withdraw this node from every layer-2 election (as NO_LAYER2) while kube-proxy's /healthz does not answer 200; pools with datapath-check are gated without it (docs/failover.md)" },
  'datapath-check-url': { kind: 'string', default: 'http://127.0.0.1:10256/healthz', help: 'the health URL asked by --datapath-check=kube-proxy and for pools with datapath-check (kube-proxy --healthz-bind-address)' },
  'datapath-check-interval-ms': { kind: 'string', default: '250', help: 'milliseconds between data-path checks; 2 failed checks in a row withdraw the node' },
  'ignore-exclude-lb': { kind: 'boolean', help: 'announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers too' },
  'log-level': { kind: 'string', default: 'info', help: 'debug, info, warn or error', env: 'IRONLB_LOG_LEVEL' },
  help: { kind: 'boolean', help: 'show this help' },
} satisfies FlagSpec;

function responderThreadFlag(v: string | undefined): ResponderThreadKind {
  if (v === undefined) return DEFAULT_RESPONDER_THREAD;
  if (v !== 'native' && v !== 'worker') throw new FlagError(`--responder-thread: "${v}" is not native or worker`);
  return v;
}

function seconds(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new FlagError(`--${name}: "${v}" is not a number of seconds`);
  return n;
}

/** --datapath-check off|kube-proxy, with its URL and interval (also used by pools with `datapath-check`). */
function dataPathFlags(mode: string | undefined, url: string | undefined, intervalMs: string | undefined): { url: string; intervalMs: number; nodeWide: boolean } {
  if (mode !== undefined && mode !== 'off' && mode !== 'kube-proxy') throw new FlagError(`--datapath-check: "${mode}" is not off or kube-proxy`);
  const target = url ?? 'http://127.0.0.1:10256/healthz';
  if (!/^http:\/\/[^/\s]+(\/\S*)?$/.test(target)) throw new FlagError(`--datapath-check-url: "${target}" is not an http:// URL`);
  return { url: target, intervalMs: integer('datapath-check-interval-ms', intervalMs, 20, 10_000), nodeWide: mode === 'kube-proxy' };
}

function integer(name: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new FlagError(`--${name}: "${v}" is not an integer from ${min} to ${max}`);
  return n;
}

function defaultNodeAddressV6(): string | undefined {
  for (const i of listInterfaces()) {
    if (i.loopback || !i.up) continue;
    const global = i.ipv6.find((a) => !a.toLowerCase().startsWith('fe80'));
    if (global) return global;
  }
  return undefined;
}

function defaultNodeAddress(): string | undefined {
  for (const i of listInterfaces()) {
    if (i.loopback || !i.up) continue;
    if (i.ipv4.length > 0) return i.ipv4[0];
  }
  return undefined;
}

export async function speakerCommand(argv: string[]): Promise<number> {
  const f = parseFlags(SPEAKER_FLAGS, argv);
  if (f.help) {
    process.stdout.write(`usage: ironlb speaker [flags]\n${usage(SPEAKER_FLAGS)}\n`);
    return 0;
  }
  const nodeName = f['node-name'];
  if (!nodeName) throw new FlagError('--node-name (or NODE_NAME) is required');
  const log = createLogger({ level: (f['log-level'] ?? 'info') as Level, base: { component: 'speaker', node: nodeName }, write: stdoutLines() });
  const namespace = f.namespace ?? 'ironlb-system';
  const exclude = f['exclude-interfaces'] !== undefined ? parseExcludePatterns(f['exclude-interfaces'].split(',').filter((s) => s !== '')) : [...DEFAULT_EXCLUDE];
  const metrics = new SpeakerMetrics();
  const speaker = new Speaker({
    kc: loadKubeFromFlags(f.kubeconfig),
    nodeName,
    nodeAddress: f['node-address'] ?? defaultNodeAddress(),
    namespace,
    configNamespace: f['config-namespace'] ?? namespace,
    configName: f['config-name'] ?? 'config',
    configSource: configSourceFlag(f['config-source']),
    configSourceRecheckMs: recheckSeconds(f['config-source-recheck']) * 1000,
    readPeerSecrets: f['read-peer-secrets'],
    lbClass: f['lb-class'],
    excludeInterfaces: exclude,
    includeInterfaces: (f.interfaces ?? '').split(',').filter((s) => s !== ''),
    refreshIntervalMs: seconds('gratuitous-refresh', f['gratuitous-refresh']) * 1000,
    responderThread: responderThreadFlag(f['responder-thread']),
    leaseDurationSeconds: Math.max(1, Math.round(seconds('lease-duration', f['lease-duration']))),
    leaseRenewMs: seconds('lease-renew', f['lease-renew']) * 1000,
    ignoreExcludeLabel: f['ignore-exclude-lb'],
    conflictDetection: f['conflict-detection'],
    announcementAudit: f['announcement-audit'] ? { intervalMs: integer('announcement-audit-interval-ms', f['announcement-audit-interval-ms'], 500, 60_000) } : false,
    serviceConditions: f['service-conditions'],
    nodeAddressV6: f['node-address-v6'] ?? defaultNodeAddressV6(),
    bgpGracefulRestartSeconds: integer('bgp-graceful-restart-time', f['bgp-graceful-restart-time'], 0, 4095),
    dataPath: dataPathFlags(f['datapath-check'], f['datapath-check-url'], f['datapath-check-interval-ms']),
    heartbeat: f.heartbeat ? heartbeatFlags(f) : undefined,
    log,
    metrics,
  });
  const server = await startMetricsServer(f['metrics-addr'] ?? ':7472', metrics.registry, speaker, log);
  installDebugStall(log);
  await speaker.start();
  const cancelPageRelease = f['release-startup-pages']
    ? scheduleStartupPageRelease({ delayMs: STARTUP_PAGES_DELAY_MS, release: () => loadNative().releaseExecutablePages(), log, released: metrics.startupPagesReleased })
    : () => undefined;
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  log.info('shutting down: leaving; answering quietly while the peers take over, then stopping');
  cancelPageRelease();
  await speaker.stop();
  await server.close();
  return 0;
}

function heartbeatFlags(f: Readonly<Record<string, string | boolean | string[] | undefined>>): NonNullable<SpeakerOptions['heartbeat']> {
  const text = (k: string): string | undefined => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
  // At least the 3 intervals after which a peer is suspect (heartbeat-view.ts): dead comes after suspect.
  const deadIntervals = integer('heartbeat-dead-intervals', text('heartbeat-dead-intervals'), 3, 100);
  return {
    port: integer('heartbeat-port', text('heartbeat-port'), 1, 65535),
    intervalMs: integer('heartbeat-interval-ms', text('heartbeat-interval-ms'), 10, 10_000),
    adaptive: f['heartbeat-adaptive'] !== false,
    minDeadIntervals: integer('heartbeat-min-dead-intervals', text('heartbeat-min-dead-intervals'), 2, deadIntervals),
    deadIntervals,
    sendAheadMs: integer('heartbeat-send-ahead-ms', text('heartbeat-send-ahead-ms'), 0, 10_000),
  };
}
