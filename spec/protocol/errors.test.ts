import t from 'tap';
import { MatrixError } from '../../src/protocol/index.js';

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
