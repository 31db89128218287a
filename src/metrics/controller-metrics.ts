// Controller metrics. Names mirror MetalLB's (metallb_allocator_*, metallb_k8s_client_*) under ironlb_.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReconcilerMetrics } from '../controller/ports';

export class ControllerMetrics implements ReconcilerMetrics {
  readonly registry = new Registry();
  readonly addressesTotal = this.gauge('ironlb_allocator_addresses_total', 'Number of usable IP addresses, per pool', ['pool']);
  readonly addressesInUse = this.gauge('ironlb_allocator_addresses_in_use_total', 'Number of IP addresses in use, per pool', ['pool']);
  readonly v4Total = this.gauge('ironlb_allocator_ipv4_addresses_total', 'Number of usable IPv4 addresses, per pool', ['pool']);
  readonly v6Total = this.gauge('ironlb_allocator_ipv6_addresses_total', 'Number of usable IPv6 addresses, per pool', ['pool']);
  readonly v4InUse = this.gauge('ironlb_allocator_ipv4_addresses_in_use_total', 'Number of IPv4 addresses in use, per pool', ['pool']);
  readonly v6InUse = this.gauge('ironlb_allocator_ipv6_addresses_in_use_total', 'Number of IPv6 addresses in use, per pool', ['pool']);
  readonly servicesAllocated = this.gauge('ironlb_allocator_services_allocated_total', 'Number of Services holding an address, per pool', ['pool']);
  readonly updates = new Counter({ name: 'ironlb_k8s_client_updates_total', help: 'Writes to the Kubernetes API (status, annotations)', registers: [this.registry] });
  readonly updateErrors = new Counter({ name: 'ironlb_k8s_client_update_errors_total', help: 'Failed writes to the Kubernetes API', registers: [this.registry] });
  readonly configLoaded = this.gauge('ironlb_k8s_client_config_loaded_bool', '1 if a valid configuration has been loaded');
  readonly configStale = this.gauge('ironlb_k8s_client_config_stale_bool', '1 if the latest ConfigMap was invalid and an older configuration is in force');
  readonly isLeader = this.gauge('ironlb_controller_leader_bool', '1 if this replica holds the controller Lease and writes');
  readonly allocationDuration = new Histogram({
    name: 'ironlb_controller_allocation_duration_seconds',
    help: 'Time from seeing a Service change to its status being written',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly foreignStatusChanges = new Counter({
    name: 'ironlb_controller_foreign_status_changes_total',
    help: 'Changes of a served Service\'s status.loadBalancer made by another writer',
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'ironlb_controller_events_dropped_total',
    help: 'Events not written because 10,000 were already waiting behind status writes',
    registers: [this.registry],
  });
  readonly statusFightServices = this.gauge('ironlb_controller_status_fights', 'Services whose status another writer keeps changing (ironlb answers with per-Service exponential backoff)');

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ironlb_controller_' });
  }

  statusWrite(): void {
    this.updates.inc();
  }

  statusWriteFailed(): void {
    this.updateErrors.inc();
  }

  allocationSeconds(seconds: number): void {
    this.allocationDuration.observe(seconds);
  }

  foreignStatusChange(): void {
    this.foreignStatusChanges.inc();
  }

  statusFights(count: number): void {
    this.statusFightServices.set(count);
  }

  private gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
