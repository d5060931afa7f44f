import t from 'tap';
import { sha256 } from '../../src/crypto/index.js';

t.test('sha256 of a string hashes its UTF-8 bytes', async (t) => {
  t.equal(sha256('').toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(sha256('abc').toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.same(sha256('日本'), sha256(Buffer.from('日本', 'utf8')));
});
