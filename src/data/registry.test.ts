import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDatasetNames, resolveDatasets } from './registry';
import { PtflowError } from '../errors';

let dir: string;
const write = (rel: string, text: string) => {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
};
const info = (obj: unknown) => write('dataset_info.json', JSON.stringify(obj));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-registry-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('resolveDatasets', () => {
  it('resolves files, directories (sorted, hidden skipped), columns.prompt and num_samples', () => {
    write('a.jsonl', '{"text":"x"}\n');
    write('shards/b.txt', 'x\n');
    write('shards/a.txt', 'y\n');
    write('shards/.DS_Store', '');
    write('c.csv', 'content\nz\n');
    info({
      a: { file_name: 'a.jsonl', columns: { prompt: 'text' } },
      sh: { file_name: 'shards' },
      c: { file_name: 'c.csv', columns: { prompt: 'content' }, num_samples: 5 },
    });
    const specs = resolveDatasets(dir, 'a, sh,c');
    expect(specs).toEqual([
      { name: 'a', files: [path.join(dir, 'a.jsonl')], format: 'jsonl', textColumn: 'text' },
      { name: 'sh', files: [path.join(dir, 'shards/a.txt'), path.join(dir, 'shards/b.txt')], format: 'txt', textColumn: 'text' },
      { name: 'c', files: [path.join(dir, 'c.csv')], format: 'csv', textColumn: 'content', numSamples: 5 },
    ]);
  });

  it('treats a directory of .json and .jsonl files as json (one reader handles both)', () => {
    write('d/a.json', '[]');
    write('d/b.jsonl', '');
    info({ d: { file_name: 'd' } });
    expect(resolveDatasets(dir, ['d'])[0].format).toBe('json');
  });

  it('uses a local file_name even when a hub url is also given', () => {
    write('a.jsonl', '');
    info({ a: { file_name: 'a.jsonl', hf_hub_url: 'org/a' } });
    expect(resolveDatasets(dir, 'a')[0].files).toEqual([path.join(dir, 'a.jsonl')]);
  });

  const errorCases: Array<[string, () => void, RegExp]> = [
    ['missing dataset_info.json', () => {}, /Cannot open .*dataset_info\.json/],
    ['invalid JSON', () => write('dataset_info.json', '{"a": '), /dataset_info\.json:1:7: invalid JSON: unexpected end of the file/],
    ['not an object', () => write('dataset_info.json', '[1]'), /dataset_info\.json: expected an object/],
    ['bad key type', () => info({ a: { file_name: 3 } }), /dataset "a", key "file_name"/],
    ['bad num_samples', () => info({ a: { file_name: 'a.txt', num_samples: -1 } }), /dataset "a", key "num_samples"/],
    ['unknown name lists known ones', () => info({ zeta: { file_name: 'z.txt' }, alpha: { file_name: 'a.txt' } }), /Undefined dataset "nope".*Known datasets: alpha, zeta/],
    ['missing file', () => info({ nope: { file_name: 'gone.jsonl' } }), /File .*gone\.jsonl not found/],
    ['hub url without a local file', () => info({ nope: { hf_hub_url: 'org/ds' } }), /hf_hub_url "org\/ds".*local files only/],
    ['ms hub url with a missing local file', () => info({ nope: { ms_hub_url: 'x/y', file_name: 'nope.jsonl' } }), /ms_hub_url "x\/y".*nope\.jsonl does not exist/],
    ['script_url', () => info({ nope: { script_url: 'my_script' } }), /script_url "my_script"/],
    ['no file_name at all', () => info({ nope: { columns: { prompt: 'text' } } }), /dataset "nope" has no "file_name"/],
    ['sharegpt formatting', () => (write('n.json', '[]'), info({ nope: { file_name: 'n.json', formatting: 'sharegpt' } })), /formatting "sharegpt" is not applicable to pre-training/],
    ['ranking dataset', () => (write('n.json', '[]'), info({ nope: { file_name: 'n.json', ranking: true } })), /"ranking": true .*not applicable/],
    ['mixed directory', () => (write('m/a.csv', ''), write('m/b.txt', ''), info({ nope: { file_name: 'm' } })), /Directory .*m mixes file types \(csv, txt\)/],
    ['unsupported extension', () => (write('n.xml', ''), info({ nope: { file_name: 'n.xml' } })), /n\.xml: unsupported file type; allowed file types: jsonl, json, txt, csv, parquet, arrow/],
    ['empty directory', () => (fs.mkdirSync(path.join(dir, 'e')), info({ nope: { file_name: 'e' } })), /Directory .*e contains no data files/],
    ['sub-directory', () => (write('s/x/a.txt', ''), info({ nope: { file_name: 's' } })), /Directory .*s contains x, which is not a file/],
  ];
  it.each(errorCases)('error: %s', (_label, setup, message) => {
    setup();
    let err: unknown;
    try {
      resolveDatasets(dir, 'nope');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PtflowError);
    expect((err as Error).message).toMatch(message);
  });

  it('rejects hub dataset_dir values', () => {
    expect(() => resolveDatasets('ONLINE', 'a')).toThrow(/hub datasets are not supported/);
  });
});

describe('parseDatasetNames', () => {
  it('splits and trims; empty names are an error', () => {
    expect(parseDatasetNames(' a ,b')).toEqual(['a', 'b']);
    expect(() => parseDatasetNames('a,,b')).toThrow(/empty dataset name/);
  });
});
