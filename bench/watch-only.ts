// The floor of `bench:controller`: a process that keeps only the controller's Service informer
// (the same raw informer, path, trim and node flags) and does nothing with what it sees: no
// decisions, no writes, no log lines per Service. The like-for-like loop timed while it runs is the
// best any controller that watches Services can do in that bench on that machine: a second
// watcher costs the API server, and the watching process costs the shared cores, before the
// controller has decided anything. Started by bench/controller.ts: `node watch-only.js KUBECONFIG`.
import { Informer } from '../src/k8s/informer';
import { loadKubeConfig } from '../src/k8s/client';
import { trimServiceForController } from '../src/k8s/trim';
import { createLogger } from '../src/util/log';
import type * as k8s from '@kubernetes/client-node';

const log = createLogger({ level: 'info', base: { component: 'watch-only' } });
const services = new Informer<k8s.V1Service>(loadKubeConfig(process.argv[2]), '/api/v1/services', { log, trim: trimServiceForController });
let seen = 0;
services.on(() => void seen++);
void services.start().then(() => log.info('caches synced', { services: services.list().length }));
process.once('SIGTERM', () => {
  log.info('stopping', { events: seen });
  void services.stop().then(() => process.exit(0));
});
