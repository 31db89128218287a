// The list+watch cache every component uses: the raw-client informer (raw-informer.ts). It
// replaced one over client-node's ListWatch, whose ObjectSerializer copied every listed object
// and which stopped for good on any error other than 410.
export { RawInformer as Informer, type Handler, type InformerEvent, type InformerOptions, type KubeObject } from './raw-informer';
