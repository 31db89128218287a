// Moved to scripts/lib/l2-lab.ts (the lab script uses it too, and scripts/ may not import test/).
export * from '../../scripts/lib/l2-lab';
