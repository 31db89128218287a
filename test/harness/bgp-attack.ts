// Tools of the hostile-router e2e test (test/e2e/bgp-hostile.test.ts): a BIRD static protocol
// holding a full table, a ROUTE-REFRESH flooder that never reads, and readers of a speaker's
// /metrics and resident memory.
import * as http from 'node:http';
import { promises as fs } from 'node:fs';

/**
 * A BIRD `protocol static` of `count` /28 routes in 240.0.0.0/4 (reserved, never routable: the
 * routes only travel inside the test's BGP sessions, are installed in no kernel and carry no
 * traffic). Each route has its own MED, so BIRD 2.0 sends each in an UPDATE of its own: a full
 * table as a million small messages, the costliest form for the receiver.
 */
export async function writeFullTable(file: string, count: number): Promise<void> {
  const lines = ['protocol static full {', '  ipv4;'];
  for (let i = 0; i < count; i++) {
    const a = (0xf0000000 + i * 16) >>> 0;
    lines.push(`  route ${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/28 blackhole { bgp_med = ${i}; };`);
  }
  lines.push('}', '');
  await fs.writeFile(file, lines.join('\n'));
}

/**
 * A node script for a router namespace: a BGP "peer" on addr:179 that never reads what it is sent
 * (its sockets are paused from the start), answers each connection with OPEN (AS `asn`, MP IPv4 and
 * IPv6 unicast, route refresh) and KEEPALIVE, then writes IPv4 ROUTE-REFRESH messages as fast as
 * the connection takes them. Prints `connected` per connection.
 */
export function routeRefreshFlooder(addr: string, asn: number, holdTime: number): string {
  return `const net = require('net');
const header = (len, type) => { const b = Buffer.alloc(len); b.fill(0xff, 0, 16); b.writeUInt16BE(len, 16); b[18] = type; return b; };
const caps = Buffer.from([1, 4, 0, 1, 0, 1, 1, 4, 0, 2, 0, 1, 2, 0]);
const params = Buffer.concat([Buffer.from([2, caps.length]), caps]);
const open = header(29 + params.length, 1);
open[19] = 4; open.writeUInt16BE(${asn}, 20); open.writeUInt16BE(${holdTime}, 22); open.writeUInt32BE(0x0a0a0a0a, 24); open[28] = params.length; params.copy(open, 29);
const refresh = header(23, 5); refresh.writeUInt16BE(1, 19); refresh[21] = 0; refresh[22] = 1;
const burst = Buffer.concat(Array(2048).fill(refresh));
net.createServer({ pauseOnConnect: true }, (s) => {
  s.on('error', () => {});
  s.write(Buffer.concat([open, header(19, 4)]));
  const pump = () => { while (!s.destroyed && s.write(burst)); };
  s.on('drain', pump);
  pump();
  console.log('connected');
}).listen(179, ${JSON.stringify(addr)});`;
}

function get(url: string, agent: http.Agent, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export async function scrape(base: string): Promise<string> {
  const agent = new http.Agent();
  try {
    return await get(`${base}/metrics`, agent, 10_000);
  } finally {
    agent.destroy();
  }
}

/** The value of the first sample of `name` whose labels contain every `labels` pair; 0 if none. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Resident set size of a process in bytes (/proc/PID/status VmRSS). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
