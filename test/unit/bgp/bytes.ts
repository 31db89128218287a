// Byte fixtures written one field per line, independent of the codec's writer.
import { hex } from '../../support/hex';

export { hex };

export const MARKER = 'ff'.repeat(16);

/** A message with a correct header around `body` (hex text or bytes). */
export function frame(type: number, body: string | Buffer = ''): Buffer {
  const b = typeof body === 'string' ? hex(body) : body;
  const header = Buffer.alloc(19, 0xff);
  header.writeUInt16BE(19 + b.length, 16);
  header[18] = type;
  return Buffer.concat([header, b]);
}

/** An UPDATE body from its withdrawn routes, attributes and NLRI, lengths filled in. */
export function updateBody(withdrawn: string, attributes: string, nlri = ''): Buffer {
  const w = hex(withdrawn);
  const a = hex(attributes);
  const lengths = Buffer.alloc(2);
  const out = [lengths, w, Buffer.alloc(2), a, hex(nlri)];
  out[0].writeUInt16BE(w.length);
  out[2].writeUInt16BE(a.length);
  return Buffer.concat(out);
}

/** The mandatory attributes of a 4-octet-AS eBGP route: ORIGIN IGP, AS_PATH [65001], NEXT_HOP 192.0.2.1. */
export const MANDATORY_4 = `
  40 01 01 00
  40 02 06 02 01 0000fde9
  40 03 04 c0000201
`;
