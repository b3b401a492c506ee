import { groupBySlot, keySlot } from '../../src/signals/slots';

// Values from `CLUSTER KEYSLOT` on redis-server 7.0.
test('keySlot matches Redis Cluster (CRC16 XModem mod 16384, hash tags)', () => {
  const expected: Record<string, number> = {
    '123456789': 12739,
    '7:success': 7698,
    '7:failure': 7182,
    '{7}:x': 1716,
    'tailslide:sig:{7}:success:0': 1716,
    'tailslide:sig:app:{1}:flags': 9842,
    'foo{}{bar}': 8363, // an empty tag: the whole key is hashed
    '{user1000}.following': 3443,
    'é:success': 9928,
  };
  for (const [key, slot] of Object.entries(expected)) expect([key, keySlot(key)]).toEqual([key, slot]);
});

test('groupBySlot keeps each command with its position, one group per slot', () => {
  const groups = groupBySlot([
    { name: 'HINCRBY', args: ['tailslide:sig:{7}:success:0', '1', 1], owner: 0 },
    { name: 'TS.ADD', args: ['7:success', 1, 1], owner: 1 },
    { name: 'PEXPIRE', args: ['tailslide:sig:{7}:success:0', 10], owner: -1 },
  ]);
  expect(groups.map((g) => [g.slot, g.positions])).toEqual([
    [1716, [0, 2]],
    [7698, [1]],
  ]);
});
