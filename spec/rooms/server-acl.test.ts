import t from 'tap';
import { serverAclAllows } from '../../src/rooms/server-acl.js';

t.test('server ACLs follow the spec rules in order', async (t) => {
  t.ok(serverAclAllows(undefined, 'any.test'), 'no ACL event: allowed');
  const acl = { allow: ['*'], deny: ['evil.test', '*.bad.test'] };
  t.ok(serverAclAllows(acl, 'good.test'));
  t.notOk(serverAclAllows(acl, 'evil.test'));
  t.notOk(serverAclAllows(acl, 'evil.test:8448'), 'the port is not considered');
  t.notOk(serverAclAllows(acl, 'EVIL.test'), 'case-insensitive');
  t.notOk(serverAclAllows(acl, 'x.bad.test'));
  t.ok(serverAclAllows(acl, 'bad.test'), '*.bad.test needs a subdomain');
  t.notOk(serverAclAllows({ deny: [] }, 'good.test'), 'no allow list: nobody is allowed');
  t.ok(serverAclAllows({ allow: ['good.?est'] }, 'good.test'), '? is one character');
  t.notOk(serverAclAllows({ allow: ['good.test'] }, 'goodxtest'), 'dots are literal');
  t.notOk(serverAclAllows({ allow: ['*'], allow_ip_literals: false }, '1.2.3.4'), 'IP literals refused when asked');
  t.notOk(serverAclAllows({ allow: ['*'], allow_ip_literals: false }, '[::1]:8448'));
  t.ok(serverAclAllows({ allow: ['*'] }, '1.2.3.4'), 'allowed by default');
  t.ok(serverAclAllows({ allow: ['*', 7, null] }, 'good.test'), 'entries that are not strings are skipped');
  t.notOk(serverAclAllows({ allow: ['*'] }, 'not a server'), 'a malformed origin never passes');
});
