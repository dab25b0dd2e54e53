import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configMarkdown } from './markdown';

describe('docs/config.md', () => {
  it('is up to date with the schema (regenerate with `npm run docs`)', () => {
    const committed = readFileSync(path.join(__dirname, '../../docs/config.md'), 'utf8');
    expect(committed).toBe(configMarkdown());
  });
  it('lists LLaMA-Factory keys and ptflow keys with defaults', () => {
    const md = configMarkdown();
    expect(md).toMatch(/\| `learning_rate` \| number \| `0.00005` \|/);
    expect(md).toMatch(/\| `backend` \|/);
  });
});
