import { arrayElementTexts } from '../../src/admin/raw-json';

describe('arrayElementTexts', () => {
  it('gives the exact text of each element', () => {
    const text = ' [ {"a": "x,]}\\"y", "b": [1, {"c": 2}]} ,\n 1.50, "s\\\\" ,null,[ ]] ';
    expect(arrayElementTexts(text)).toEqual([
      '{"a": "x,]}\\"y", "b": [1, {"c": 2}]}',
      '1.50',
      '"s\\\\"',
      'null',
      '[ ]',
    ]);
    expect(arrayElementTexts('[]')).toEqual([]);
    expect(arrayElementTexts(' [ ] ')).toEqual([]);
  });

  it('gives undefined for anything but one array', () => {
    for (const text of ['', '{}', '[1,]', '[1', '[1] x', '["a]', '[,]'])
      expect(arrayElementTexts(text)).toBeUndefined();
  });
});
