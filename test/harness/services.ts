// Moved to scripts/lib/services.ts (the lab script uses it too, and scripts/ may not import test/).
export * from '../../scripts/lib/services';
