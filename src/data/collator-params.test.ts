import { blockBosId } from './collator-params';

describe('blockBosId', () => {
  it('is the BOS id only when the tokenizer adds BOS and has one', () => {
    expect(blockBosId({ add_bos: true, bos_id: 7 })).toBe(7);
    expect(blockBosId({ add_bos: true, bos_id: 0 })).toBe(0);
    expect(blockBosId({ add_bos: false, bos_id: 7 })).toBeUndefined();
    expect(blockBosId({ add_bos: true, bos_id: null })).toBeUndefined();
  });
});
