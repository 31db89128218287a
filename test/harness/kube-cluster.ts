// Moved to scripts/lib/kube-cluster.ts (the lab script uses it too, and scripts/ may not import test/).
export * from '../../scripts/lib/kube-cluster';
