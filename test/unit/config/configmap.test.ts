import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractConfigText, toFileLines } from '../../../src/config/parse';
import type { ParseResult } from '../../../src/config/types';

const fixture = (name: string): string => readFileSync(join(__dirname, '../../fixtures/config', name), 'utf8');

describe('extractConfigText', () => {
  test('bare config text is used whole, lines unchanged', () => {
    const text = fixture('seed-config.yaml');
    expect(extractConfigText(text)).toEqual({ ok: true, source: { text, lineOffset: 0 } });
  });

  test('a ConfigMap in a | block maps lines one to one', () => {
    const result = extractConfigText(fixture('seed-configmap.yaml'));
    expect(result).toEqual({
      ok: true,
      source: {
        text: 'address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.168.10.90-192.168.10.100\n',
        configMap: { namespace: 'metallb-system', name: 'config' },
        lineOffset: 7,
      },
    });
  });

  test('in a multi-document file the ConfigMap holding data.config is chosen', () => {
    const result = extractConfigText(fixture('multi-document.yaml'));
    expect(result.ok && result.source.configMap).toEqual({ namespace: 'metallb-system', name: 'config' });
    expect(result.ok && result.source.lineOffset).toBe(22);
  });

  test('a kind: List is searched', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: config}\n  data:\n    config: "address-pools: []"\n';
    expect(extractConfigText(text)).toEqual({ ok: true, source: { text: 'address-pools: []', configMap: { name: 'config' }, lineOffset: 7 } });
  });

  test('a folded block does not map lines', () => {
    const text = 'kind: ConfigMap\ndata:\n  config: >\n    address-pools: []\n';
    const result = extractConfigText(text);
    expect(result.ok && result.source.lineOffset).toBeUndefined();
  });

  test.each([
    ['no ConfigMap', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n', 'no ConfigMap with a data.config key found in the file'],
    ['a ConfigMap without config', 'kind: ConfigMap\ndata: {other: x}\n', 'no ConfigMap with a data.config key found in the file'],
    ['config that is not a string', 'kind: ConfigMap\ndata:\n  config: {address-pools: []}\n', 'data.config of the ConfigMap must be a string holding the config YAML'],
    ['several bare documents', 'address-pools: []\n---\npeers: []\n', 'the file holds several YAML documents and none is a ConfigMap; bare config text must be a single document'],
  ])('%s is refused', (_desc, text, message) => {
    expect(extractConfigText(text)).toEqual({ ok: false, message });
  });

  test('text that is not YAML is refused with its line', () => {
    const result = extractConfigText('kind: ConfigMap\ndata:\n  config: "unterminated\n');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/^not valid YAML: /);
    expect(!result.ok && result.line).toBeGreaterThan(0);
  });
});

describe('toFileLines', () => {
  const invalid: ParseResult = { ok: false, errors: [{ path: 'a', message: 'm', line: 2 }, { path: 'b', message: 'n' }] };

  test('shifts known lines by the offset', () => {
    expect(toFileLines(invalid, { text: '', lineOffset: 7 })).toEqual({ ok: false, errors: [{ path: 'a', message: 'm', line: 9 }, { path: 'b', message: 'n' }] });
  });

  test('leaves lines alone when the text does not map', () => {
    expect(toFileLines(invalid, { text: '' })).toBe(invalid);
  });
});
