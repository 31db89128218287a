// `ironlb controller`: the allocation side, normally 2 replicas with one Lease holder writing.
import * as os from 'node:os';
import { Controller } from '../controller/controller';
import { loadKubeFromFlags } from '../k8s/kube';
import { ControllerMetrics } from '../metrics/controller-metrics';
import { startMetricsServer } from '../metrics/server';
import { createLogger, type Level } from '../util/log';
import { stdoutLines } from '../util/line-writer';
import { FlagError, parseFlags, usage, type FlagSpec } from './flags';
import { configSourceFlag, recheckSeconds } from './config-source-flag';

export const CONTROLLER_FLAGS = {
  kubeconfig: { kind: 'string', help: 'kubeconfig file; in-cluster credentials when absent', env: 'KUBECONFIG' },
  'config-namespace': { kind: 'string', default: 'ironlb-system', help: 'namespace of the configuration ConfigMap', env: 'IRONLB_CONFIG_NAMESPACE' },
  'config-name': { kind: 'string', default: 'config', help: 'name of the configuration ConfigMap (MetalLB: metallb-system/config)', env: 'IRONLB_CONFIG_NAME' },
  'config-source': { kind: 'string', default: 'auto', help: 'auto (the metallb.io objects when an IPAddressPool exists in the config namespace, else the ConfigMap), configmap or crds', env: 'IRONLB_CONFIG_SOURCE' },
  'config-source-recheck': { kind: 'string', default: '30', help: 'with --config-source=auto: seconds between looks at which source applies (an IPAddressPool created later switches to the objects)' },
  'lb-class': { kind: 'string', help: 'serve only Services with this spec.loadBalancerClass (default: only Services without a class)' },
  'metrics-addr': { kind: 'string', default: ':7472', help: 'listen address for /metrics, /healthz, /readyz' },
  'leader-elect': { kind: 'boolean', default: true, help: 'elect one writing replica through a Lease' },
  'lease-namespace': { kind: 'string', help: 'namespace of the leader Lease (default: the config namespace)', env: 'POD_NAMESPACE' },
  'lease-name': { kind: 'string', default: 'ironlb-controller', help: 'name of the leader Lease' },
  'speaker-namespace': { kind: 'string', help: 'namespace of the speaker Leases, read for address-conflict reports (default: the lease namespace)' },
  'conflict-hold': { kind: 'string', default: '300', help: 'seconds an address stays quarantined after the last speaker stopped reporting a conflict on it' },
  'service-conditions': { kind: 'boolean', default: true, help: 'keep the ironlb.io/AddressAllocated condition in each Service\'s status.conditions (--service-conditions=false: never written)' },
  identity: { kind: 'string', help: 'identity in the Lease (default: pod name or host-pid)', env: 'POD_NAME' },
  'log-level': { kind: 'string', default: 'info', help: 'debug, info, warn or error', env: 'IRONLB_LOG_LEVEL' },
  help: { kind: 'boolean', help: 'show this help' },
} satisfies FlagSpec;

function conflictHoldSeconds(v: string | undefined): number {
  const n = Number(v ?? '300');
  if (!Number.isFinite(n) || n < 0) throw new FlagError(`--conflict-hold: "${v}" is not a number of seconds`);
  return n;
}

export async function controllerCommand(argv: string[]): Promise<number> {
  const f = parseFlags(CONTROLLER_FLAGS, argv);
  if (f.help) {
    process.stdout.write(`usage: ironlb controller [flags]\n${usage(CONTROLLER_FLAGS)}\n`);
    return 0;
  }
  const identity = f.identity ?? `${os.hostname()}-${process.pid}`;
  const log = createLogger({ level: (f['log-level'] ?? 'info') as Level, base: { component: 'controller' }, write: stdoutLines() });
  const kc = loadKubeFromFlags(f.kubeconfig);
  const metrics = new ControllerMetrics();
  const configNamespace = f['config-namespace'] ?? 'ironlb-system';
  const controller = new Controller({
    kc,
    configNamespace,
    configName: f['config-name'] ?? 'config',
    configSource: configSourceFlag(f['config-source']),
    configSourceRecheckMs: recheckSeconds(f['config-source-recheck']) * 1000,
    lbClass: f['lb-class'],
    leaderElection: f['leader-elect'],
    leaseNamespace: f['lease-namespace'] ?? configNamespace,
    leaseName: f['lease-name'] ?? 'ironlb-controller',
    identity,
    speakerNamespace: f['speaker-namespace'],
    conflictHoldMs: conflictHoldSeconds(f['conflict-hold']) * 1000,
    serviceConditions: f['service-conditions'],
    log,
    metrics,
  });
  const server = await startMetricsServer(f['metrics-addr'] ?? ':7472', metrics.registry, controller, log);
  log.info('starting controller', { identity, config: `${configNamespace}/${f['config-name']}`, lbClass: f['lb-class'] ?? null });
  await controller.start();
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log.info('shutting down', { signal: sig });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await controller.stop();
  await server.close();
  return 0;
}
