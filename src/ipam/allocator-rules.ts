// Pure helpers of the allocator: request checks, address parsing, messages. No state.
import { describeRestriction, poolAllows, type ServiceFacts } from '../config/service-allocation';
import type { AddressPool } from '../config/types';
import { formatIP, tryParseIP, type Family, type IP } from './address';
import type { Address } from './address-holders';
import type { PoolState } from './pool';
import type { Failure, FailureReason, ServicePort, ServiceRequest } from './types';

export function fail(reason: FailureReason, message: string): Failure {
  return { ok: false, reason, message };
}

export function byPriorityThenName(a: AddressPool, b: AddressPool): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The tenancy facts of a request (ServiceRequest.tenant), defaulted from its key. */
export function tenantOf(req: ServiceRequest): ServiceFacts {
  return req.tenant ?? { namespace: req.key.split('/', 1)[0], namespaceLabels: {}, serviceLabels: {} };
}

/** Why the pool does not serve the request's Service (its restriction in words), or undefined when it does. */
export function restrictionProblem(pool: AddressPool, req: ServiceRequest): string | undefined {
  if (poolAllows(pool, tenantOf(req))) return undefined;
  return describeRestriction(pool) ?? `pool "${pool.name}" does not serve this Service`;
}

export function familyName(f: Family): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

export function poolNameOf(req: ServiceRequest): string | undefined {
  return req.poolName === undefined || req.poolName === '' ? undefined : req.poolName;
}

/** The families the service takes addresses of: SingleStack only the primary one. */
export function wantedFamilies(req: ServiceRequest): readonly Family[] {
  return req.familyPolicy === 'SingleStack' ? req.families.slice(0, 1) : req.families;
}

export function checkRequest(req: ServiceRequest): Failure | undefined {
  if (req.key === '') return fail('InvalidRequest', 'the service key is empty');
  const fams = req.families;
  if (fams.length < 1 || fams.length > 2 || fams.some((f) => f !== 4 && f !== 6) || fams[0] === fams[1]) {
    return fail('InvalidRequest', `${req.key}: ipFamilies must list one or two distinct families, got [${fams.join(', ')}]`);
  }
  if (req.familyPolicy === 'RequireDualStack' && fams.length !== 2) {
    return fail('InvalidRequest', `${req.key}: RequireDualStack needs both IPv4 and IPv6 in ipFamilies`);
  }
  return undefined;
}

/** Why a set of address families does not suit the service, or undefined when it does. */
export function familyProblem(families: readonly Family[], req: ServiceRequest): string | undefined {
  if (families.length > 1 && families[0] === families[1]) return `at most one ${familyName(families[0])} address can be requested`;
  const wanted = wantedFamilies(req);
  const stray = families.find((f) => !wanted.includes(f));
  if (stray !== undefined) return `an ${familyName(stray)} address does not suit a service of family ${wanted.map(familyName).join(' and ')}`;
  if (req.familyPolicy === 'RequireDualStack' && families.length < 2) return 'RequireDualStack needs one IPv4 and one IPv6 address';
  return undefined;
}

export function parseAddresses(req: ServiceRequest, texts: readonly string[]): Address[] | Failure {
  if (texts.length === 0) return fail('InvalidRequest', `${req.key}: no addresses given`);
  if (texts.length > 2) return fail('InvalidRequest', `${req.key}: at most two addresses (one IPv4, one IPv6) can be requested, got ${texts.length}`);
  const addresses: Address[] = [];
  for (const t of texts) {
    const ip = tryParseIP(t);
    if (!ip) return fail('InvalidRequest', `"${t}" is not a valid IP address`);
    addresses.push(withText(ip));
  }
  const problem = familyProblem(addresses.map((a) => a.family), req);
  if (problem) return fail('InvalidRequest', `${req.key} requests "${addresses.map((a) => a.text).join(',')}": ${problem}`);
  return addresses;
}

export function withText(ip: IP): Address {
  return { family: ip.family, value: ip.value, text: formatIP(ip) };
}

// Requests and assignments are handed across the API boundary; copies keep either side's later
// changes from reaching the other.
export function copyPorts(ports: readonly ServicePort[]): ServicePort[] {
  return ports.map((p) => ({ protocol: p.protocol, port: p.port }));
}

export function exhaustionNote(pool: PoolState, family: Family): string {
  const both = pool.offers(4) && pool.offers(6);
  const what = both ? `${familyName(family)} addresses` : 'addresses';
  return `pool "${pool.name}" is exhausted (${pool.inUse(family)} of ${pool.total(family)} ${what} in use)`;
}
