import t from 'tap';
import { MatrixError, RelayedMatrixError } from '../../src/protocol/index.js';

t.test('status comes from the errcode table', async (t) => {
  const err = new MatrixError('M_FORBIDDEN', 'You are not invited to this room');
  t.equal(err.status, 403);
  t.same(err.toJSON(), { errcode: 'M_FORBIDDEN', error: 'You are not invited to this room' });
});

t.test('extra fields ride along in the body', async (t) => {
  const err = new MatrixError('M_LIMIT_EXCEEDED', 'Too many requests', { extra: { retry_after_ms: 2000 } });
  t.equal(err.status, 429);
  t.same(err.toJSON(), { retry_after_ms: 2000, errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests' });
});

t.test('only the alternate statuses the spec names are allowed', async (t) => {
  t.equal(new MatrixError('M_UNRECOGNIZED', 'Wrong method', { status: 405 }).status, 405);
  t.throws(() => new MatrixError('M_FORBIDDEN', 'x', { status: 500 }), TypeError);
});

t.test('an error relayed from another server keeps its errcode and 4xx status', async (t) => {
  const err = new RelayedMatrixError('M_TEST_ERROR_CODE', 'denied!', 400);
  t.equal(err.status, 400);
  t.equal(err.errcode, 'M_UNKNOWN', 'an errcode Hearth does not know is M_UNKNOWN inside');
  t.same(err.toJSON(), { errcode: 'M_TEST_ERROR_CODE', error: 'denied!' }, 'and the remote one on the wire');
  const known = new RelayedMatrixError('M_FORBIDDEN', 'banned', 400);
  t.same([known.errcode, known.status], ['M_FORBIDDEN', 400], 'a known errcode keeps its name and the remote status');
  t.ok(known instanceof MatrixError);
  for (const status of [200, 401, 500, 502, 400.5]) t.throws(() => new RelayedMatrixError('M_TEST', 'x', status), TypeError, `HTTP ${status}`);
});
