import { join } from 'node:path';
import { runCommand, tempFiles } from './cli-harness';
import { validateConfigCommand } from '../../../src/cli/validate-config';

const ROOT = join(__dirname, '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/config');

const files = tempFiles('ironlb-validate-config-');
const tempFile = files.file;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(validateConfigCommand, args);
}

describe('ironlb validate-config', () => {
  test('a valid ConfigMap exits 0 and lists pools with address counts and the peer count', async () => {
    const file = join(FIXTURES, 'multi-document.yaml');
    const { code, stdout, stderr } = await run(file);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toBe(
      `${file}: valid (ConfigMap metallb-system/config)\n` +
        'address pools: 2\n' +
        '  default: layer2, 11 IPv4 + 0 IPv6 addresses\n' +
        '  v6: layer2, 254 IPv4 + 256 IPv6 addresses; avoiding .0 and .255\n' +
        'peers: 0\n',
    );
  });

  test.each(['config/example-config.yaml', 'config/metallb-bgp-example.yaml', 'test/fixtures/config/seed-configmap.yaml', 'test/fixtures/config/seed-config.yaml'])(
    '%s validates',
    async (name) => {
      expect((await run(join(ROOT, name))).code).toBe(0);
    },
  );

  test('the BGP example reports its peers', async () => {
    const { stdout } = await run(join(ROOT, 'config/metallb-bgp-example.yaml'));
    expect(stdout).toContain('peers: 3\n');
    expect(stdout).toContain('  staging: bgp, 63 IPv4 + 256 IPv6 addresses; auto-assign off; avoiding .0 and .255; 1 advertisement(s)\n');
  });

  test('-o json prints the summary as JSON', async () => {
    const { code, stdout } = await run('-o', 'json', join(FIXTURES, 'seed-configmap.yaml'));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      file: join(FIXTURES, 'seed-configmap.yaml'),
      valid: true,
      configMap: { namespace: 'metallb-system', name: 'config' },
      pools: [
        {
          name: 'default',
          protocol: 'layer2',
          addresses: ['192.168.10.90-192.168.10.100'],
          ipv4Addresses: '11',
          ipv6Addresses: '0',
          autoAssign: true,
          avoidBuggyIPs: false,
          priority: 0,
        },
      ],
      peers: 0,
      bgpCommunities: 0,
      bfdProfiles: 0,
    });
  });

  test('an invalid config exits 1 and prints every problem with file line numbers on stderr', async () => {
    const file = join(FIXTURES, 'invalid-configmap.yaml');
    const { code, stdout, stderr } = await run(file);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`${file}: 6 problems in the config (ConfigMap metallb-system/config):`);
    expect(lines.slice(1)).toHaveLength(6);
    expect(lines[1]).toBe('  line 12: address-pools[0].addresses[0]: range start 192.168.10.100 is after end 192.168.10.90');
    expect(lines[6]).toBe('  line 22: peers[0].ebgp-multihop: ebgp-multihop cannot be set on an iBGP peer (my-asn and peer-asn are both 64500)');
  });

  test('when config lines do not map to the file, the output says so', async () => {
    const { code, stderr } = await run(join(FIXTURES, 'folded-configmap.yaml'));
    expect(code).toBe(1);
    expect(stderr).toContain('line numbers count from the first line of data.config');
    expect(stderr).toContain('  line 5: address-pools[0].addresses[0]: invalid CIDR "10.0.0.0/33": prefix length 33 is longer than 32\n');
  });

  test('-o json on an invalid config prints the errors as JSON and exits 1', async () => {
    const { code, stdout } = await run('--output=json', join(FIXTURES, 'invalid-configmap.yaml'));
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { valid: boolean; errors: { path: string; message: string; line: number }[] };
    expect(report.valid).toBe(false);
    expect(report.errors).toHaveLength(6);
    expect(report.errors[0]).toEqual({ path: 'address-pools[0].addresses[0]', message: 'range start 192.168.10.100 is after end 192.168.10.90', line: 12 });
  });

  test('a missing file exits 2', async () => {
    const file = join(files.dir(), 'does-not-exist.yaml');
    const { code, stderr } = await run(file);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read the file: ENOENT`));
  });

  test('a file that is not YAML exits 2', async () => {
    const file = tempFile('broken.yaml', 'address-pools: [\n');
    const { code, stderr } = await run(file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/: line \d+: not valid YAML: /);
  });

  test('a ConfigMap whose config is not YAML exits 2', async () => {
    const file = tempFile('broken-config.yaml', 'kind: ConfigMap\nmetadata: {name: config}\ndata:\n  config: |\n    address-pools: [\n');
    const { code, stderr } = await run(file);
    expect(code).toBe(2);
    expect(stderr).toContain('data.config of the ConfigMap config: line ');
  });

  test('a manifest without the ConfigMap exits 2', async () => {
    const file = tempFile('namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
    const { code, stderr } = await run(file);
    expect(code).toBe(2);
    expect(stderr).toBe(`${file}: no ConfigMap with a data.config key found in the file\n`);
  });

  test('-o json reports a fatal problem as JSON too', async () => {
    const { code, stdout } = await run('-o', 'json', join(files.dir(), 'nope.yaml'));
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ valid: false, error: expect.stringMatching(/^cannot read the file/) });
  });

  test.each([
    [[], 'missing FILE'],
    [['a.yaml', 'b.yaml'], 'expected one FILE, got 2'],
    [['-o', 'xml', 'a.yaml'], 'unknown output format "xml" (use text or json)'],
    [['--colour', 'a.yaml'], 'unknown flag --colour'],
  ])('bad usage %j exits 2', async (args, message) => {
    const { code, stderr } = await run(...args);
    expect(code).toBe(2);
    expect(stderr).toContain(`ironlb validate-config: ${message}\nusage: ironlb validate-config FILE`);
  });

  test('-h prints usage and exits 0', async () => {
    const { code, stdout } = await run('-h');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: ironlb validate-config FILE/);
  });
});
