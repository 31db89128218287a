// What a codec needs to know about the session it serves.

export interface CodecContext {
  /** Both sides advertised the 4-octet AS capability, so AS numbers are 4 octets (RFC 6793 §3). */
  readonly fourOctetAS: boolean;
}

/** Extra facts that let OPEN decoding report the RFC 4271 §6.2 errors that depend on configuration. */
export interface DecodeContext extends CodecContext {
  /** The AS configured for the peer; a different one is Bad Peer AS. */
  readonly peerAS?: number;
  /** Our AS and BGP Identifier: an internal peer using our identifier is Bad BGP Identifier (RFC 6286 §2.2). */
  readonly localAS?: number;
  readonly localIdentifier?: number;
}
