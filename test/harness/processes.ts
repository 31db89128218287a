// Moved to scripts/lib/processes.ts (the lab script uses it too, and scripts/ may not import test/).
export * from '../../scripts/lib/processes';
