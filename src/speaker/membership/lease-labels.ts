// Names on the speakers' Leases (lease-membership.ts).
export const SPEAKER_LEASE_PREFIX = 'ironlb-speaker-';
export const SPEAKER_LABELS = { 'app.kubernetes.io/name': 'ironlb', 'app.kubernetes.io/component': 'speaker' };
export const NODE_ADDRESS_ANNOTATION = 'ironlb.io/node-address';
/** The MACs of the speaker's layer-2 interfaces, comma-separated: claims from them are no address conflict. */
export const NODE_MACS_ANNOTATION = 'ironlb.io/node-macs';
