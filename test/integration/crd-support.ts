// kubectl against the test API server, and installing manifests/crds there, for the CRD suites.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { kubeBinDir } from '../harness/kube-cluster';
import { REPO } from '../harness/processes';

export const KUBECTL = path.join(kubeBinDir(), 'kubectl');
export const CRD_DIR = path.join(REPO, 'manifests', 'crds');

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs kubectl with the test kubeconfig (or `kubeconfig`); `input` goes to stdin. Never throws on a non-zero exit. */
export function kubectl(args: readonly string[], input?: string, kubeconfig = process.env.IRONLB_TEST_KUBECONFIG ?? ''): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export async function kubectlOk(args: readonly string[], input?: string, kubeconfig?: string): Promise<string> {
  const r = await kubectl(args, input, kubeconfig);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Applies manifests/crds (idempotent: other suites may have done it) and waits until they are served. */
export async function installCrds(kubeconfig?: string): Promise<void> {
  await kubectlOk(['apply', '-f', CRD_DIR], undefined, kubeconfig);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRD_DIR], undefined, kubeconfig);
}
