import t from 'tap';
import { MatrixError } from '../../src/protocol/errors.js';
import {
  formatPaginationToken,
  formatStreamToken,
  parsePaginationToken,
  parseStreamToken,
  ZERO_STREAM_TOKEN,
} from '../../src/protocol/stream-token.js';

const refused = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof MatrixError ? err.errcode : String(err);
  }
};

t.test('a sync token holds one position per stream and reads back', async (t) => {
  const token = { ...ZERO_STREAM_TOKEN, events: 12, typing: 3, deviceLists: 7 };
  t.same(parseStreamToken(formatStreamToken(token)), token);
  t.same(parseStreamToken('s5'), { ...ZERO_STREAM_TOKEN, events: 5 }, 'streams a token lacks read as 0');
  for (const bad of ['5', 's', 's1_2_3_4_5_6_7_8_9', 's-1', 's01', 'sx']) t.equal(refused(() => parseStreamToken(bad)), 'M_INVALID_PARAM', bad);
});

t.test('a pagination token is a place on the events stream, below zero for backfilled history', async (t) => {
  for (const position of [0, 42, -1, -9_007_199_254_740_991]) t.equal(parsePaginationToken(formatPaginationToken(position)), position);
  t.equal(parsePaginationToken('s9_1_2'), 9, 'a sync token is taken for its events position');
  for (const bad of ['t', 't-0', 't01', 't--1', 't1.5', 'x1', 's-3']) t.equal(refused(() => parsePaginationToken(bad)), 'M_INVALID_PARAM', bad);
});
