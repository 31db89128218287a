// What the lab script prints and waits for: a process's JSON log line, indented command output,
// kube-proxy's rules for the Service; and, with `--crds`, the metallb.io objects that replace the
// ConfigMap (converted by \`ironlb migrate\`'s own function) and what their status shows.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { configMapToObjects } from '../../src/config/crd/migrate';
import { pidAlive } from './kube-cluster';
import { REPO } from './lab-config';
import { StepError, type LabProcess } from './lab-state';
import { sleep } from './wait';


/** Waits for a JSON log record whose msg starts with `msg`; fails at once if the process died. */
export async function waitForLogLine(proc: LabProcess, msg: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(proc.log, 'utf8');
    } catch {
      /* not yet */
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const rec = JSON.parse(line) as { msg?: unknown };
        if (typeof rec.msg === 'string' && rec.msg.startsWith(msg)) return;
      } catch {
        /* partial line */
      }
    }
    if (!pidAlive(proc.pid)) throw new StepError('', `${proc.name} (pid ${proc.pid}) exited before logging "${msg}"`, [proc.log]);
    if (Date.now() > deadline) throw new StepError('', `${proc.name} did not log "${msg}" within ${timeoutMs / 1000} s`, [proc.log]);
    await sleep(100);
  }
}

export function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : `    ${l}`))
    .join('\n') + '\n';
}

/** kube-proxy's NAT rules for the Service address on one node: the match, and the pods it DNATs to. */
export function describeRules(nat: string, ip: string, port: number, service: { namespace: string; name: string }): { entry: string; targets: string[] } {
  const lines = nat.split('\n');
  const entry = lines.find((l) => l.startsWith('-A KUBE-SERVICES') && l.includes(`-d ${ip}/32`) && l.includes(`--dport ${port}`)) ?? '';
  // Each endpoint chain (KUBE-SEP-…) carries the Service's "namespace/name" comment.
  const mine = lines.filter((l) => l.includes(`"${service.namespace}/${service.name}"`) || l.includes(`${service.namespace}/${service.name} `));
  const targets = mine.flatMap((l) => [...l.matchAll(/-j DNAT --to-destination (\S+)/g)].map((m) => m[1]));
  return { entry, targets: [...new Set(targets)].sort() };
}

/** The lab's config (ConfigMap text) as metallb.io objects in `namespace`, as multi-document YAML. */
export function labObjects(configText: string, namespace: string): string {
  const r = configMapToObjects(configText, namespace);
  if (!r.ok) throw new Error(`ironlb migrate could not convert the lab config: ${r.errors.join('; ')}`);
  return r.objects.map((o) => `---\n${stringify(o, { lineWidth: 0, version: '1.1' })}`).join('');
}

/** kubectl with the lab's kubeconfig; `input` goes to stdin. */
export async function labKubectl(kubectl: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(kubectl, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input ?? '');
  });
}

/** Installs manifests/crds and applies the lab's objects; returns what `kubectl get` shows of them. */
export async function applyLabObjects(kubectl: string, kubeconfig: string, yaml: string, namespace: string): Promise<string> {
  const crds = path.join(REPO, 'manifests', 'crds');
  await labKubectl(kubectl, kubeconfig, ['apply', '-f', crds]);
  await labKubectl(kubectl, kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
  await labKubectl(kubectl, kubeconfig, ['apply', '-f', '-'], yaml);
  return labKubectl(kubectl, kubeconfig, ['get', 'ipaddresspools,l2advertisements', '-n', namespace]);
}

/** `kubectl get servicel2status -A` and the pools' status, once both show the Service (the speaker and controller write them). */
export async function crStatusViews(kubectl: string, kubeconfig: string, namespace: string, announcer: string): Promise<{ l2Status: string; pools: string }> {
  for (let i = 0; ; i++) {
    const l2Status = await labKubectl(kubectl, kubeconfig, ['get', 'servicel2status', '-A', '-o', 'wide']);
    const pools = await labKubectl(kubectl, kubeconfig, ['get', 'ipaddresspool', '-n', namespace, '-o', 'yaml']);
    // Both are written asynchronously: the speaker's status object after its announcement, the
    // pool status at the controller's next status pass.
    if ((l2Status.includes(announcer) && /assignedIPv4: [1-9]/.test(pools)) || i >= 100) return { l2Status, pools };
    await sleep(200);
  }
}
