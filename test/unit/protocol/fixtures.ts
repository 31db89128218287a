// Byte fixtures for the layer-2 codec tests, written one field per line and joined here, never
// produced by the production BufferWriter (so a writer bug cannot make the tests pass).
// The named frames were captured with tcpdump -xx on a lab LAN (client 02:00:00:00:00:10 /
// 198.51.100.10 / 2001:db8:100::10, node 02:00:00:00:00:11 / .11 / ::11); checksums are the
// kernel's own.
import { hex } from '../../support/hex';

export { hex };

export const CLIENT_MAC = '02:00:00:00:00:10';
export const NODE_MAC = '02:00:00:00:00:11';

/** Linux ARP request: who-has 198.51.100.11 tell 198.51.100.10 (42 bytes, unpadded). */
export function arpRequestFrame(): Buffer {
  return hex(
    'ff ff ff ff ff ff', // ethernet destination: broadcast
    '02 00 00 00 00 10', // ethernet source
    '08 06', //             ethertype ARP
    '00 01', //             hardware type Ethernet
    '08 00', //             protocol type IPv4
    '06', //                hardware length
    '04', //                protocol length
    '00 01', //             operation request
    '02 00 00 00 00 10', // sender hardware address
    'c6 33 64 0a', //       sender protocol address 198.51.100.10
    '00 00 00 00 00 00', // target hardware address
    'c6 33 64 0b', //       target protocol address 198.51.100.11
  );
}

/** Linux ARP reply: 198.51.100.11 is-at 02:00:00:00:00:11. */
export function arpReplyFrame(): Buffer {
  return hex(
    '02 00 00 00 00 10',
    '02 00 00 00 00 11',
    '08 06',
    '00 01',
    '08 00',
    '06',
    '04',
    '00 02',
    '02 00 00 00 00 11',
    'c6 33 64 0b',
    '02 00 00 00 00 10',
    'c6 33 64 0a',
  );
}

/** Linux NS: 2001:db8:100::10 -> ff02::1:ff00:11, who has 2001:db8:100::11, SLLA = client. */
export function neighborSolicitationFrame(): Buffer {
  return hex(
    '33 33 ff 00 00 11', //                               ethernet destination: solicited-node MAC
    '02 00 00 00 00 10', //                               ethernet source
    '86 dd', //                                           ethertype IPv6
    '60 00 00 00', //                                     version 6, class 0, flow 0
    '00 20', //                                           payload length 32
    '3a', //                                              next header ICMPv6
    'ff', //                                              hop limit 255
    '2001 0db8 0100 0000 0000 0000 0000 0010', //         source
    'ff02 0000 0000 0000 0000 0001 ff00 0011', //         destination: solicited-node group
    '87', //                                              type 135 NS
    '00', //                                              code
    '19 eb', //                                           checksum
    '00 00 00 00', //                                     reserved
    '2001 0db8 0100 0000 0000 0000 0000 0011', //         target
    '01 01 02 00 00 00 00 10', //                         option: source link-layer address
  );
}

/** Linux NA: 2001:db8:100::11 -> 2001:db8:100::10, S=1 O=1, TLLA = node. */
export function neighborAdvertisementFrame(): Buffer {
  return hex(
    '02 00 00 00 00 10',
    '02 00 00 00 00 11',
    '86 dd',
    '60 00 00 00',
    '00 20',
    '3a',
    'ff',
    '2001 0db8 0100 0000 0000 0000 0000 0011',
    '2001 0db8 0100 0000 0000 0000 0000 0010',
    '88', //                                              type 136 NA
    '00',
    '87 35', //                                           checksum
    '60 00 00 00', //                                     flags: solicited, override
    '2001 0db8 0100 0000 0000 0000 0000 0011',
    '02 01 02 00 00 00 00 11', //                         option: target link-layer address
  );
}
