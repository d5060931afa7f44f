import t from 'tap';
import { localpartFromExternalName, parseCasValidation, withLoginToken } from '../../src/users/index.js';
import { MatrixError } from '../../src/protocol/index.js';

/** Single sign-on's pure parts: names as localparts, the login token on the client's URL, CAS's XML. */

t.test('names from a provider become localparts by the spec\'s mapping', async (t) => {
  t.equal(localpartFromExternalName('cas_user!'), 'cas_user=21', 'sytest\'s example');
  t.equal(localpartFromExternalName('Alice.Smith'), 'alice.smith', 'A-Z lowered');
  t.equal(localpartFromExternalName('a=b'), 'a=3db', '= itself is escaped');
  t.equal(localpartFromExternalName('á'), '=c3=a1', 'UTF-8 bytes, each escaped (the spec\'s example)');
  t.equal(localpartFromExternalName('#x'), '=23x');
  t.equal(localpartFromExternalName('_bridge'), '=5fbridge', 'a leading _ is kept for bridges');
  t.equal(localpartFromExternalName('a+b/c-d'), 'a+b/c-d', 'the rest of the localpart alphabet stays');
  t.equal(localpartFromExternalName(''), undefined);
});

t.test('the login token goes on the client\'s redirectUrl, replacing any there', async (t) => {
  t.equal(withLoginToken('https://c.example/', 'T'), 'https://c.example/?loginToken=T');
  t.equal(withLoginToken('https://c.example/?a=1&loginToken=old&b=2', 'T'), 'https://c.example/?a=1&b=2&loginToken=T');
  t.equal(withLoginToken('https://c.example/#/room', 'T'), 'https://c.example/?loginToken=T#/room', 'the fragment stays last');
  t.equal(withLoginToken('element://sso?x=%2F', 'a/b'), 'element://sso?x=%2F&loginToken=a%2Fb', 'a custom scheme, the token encoded');
});

t.test('CAS validation answers', async (t) => {
  const ok = parseCasValidation(`<?xml version="1.0"?>
<!-- a comment -->
<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationSuccess>
    <cas:user>jo &amp; co</cas:user>
    <cas:attributes>
      <cas:memberOf>staff</cas:memberOf>
      <cas:memberOf><![CDATA[a<b]]></cas:memberOf>
      <cas:empty/>
    </cas:attributes>
  </cas:authenticationSuccess>
</cas:serviceResponse>`);
  t.same(ok, { user: 'jo & co', attributes: { memberOf: ['staff', 'a<b'], empty: [''] } });
  t.same(parseCasValidation('<serviceResponse><authenticationSuccess><user>bare</user></authenticationSuccess></serviceResponse>'), { user: 'bare', attributes: {} }, 'any prefix, or none');

  const refusal = () => parseCasValidation('<cas:serviceResponse><cas:authenticationFailure code="INVALID_TICKET">Ticket ST-1 not recognized</cas:authenticationFailure></cas:serviceResponse>');
  t.throws(refusal, new MatrixError('M_FORBIDDEN', 'The CAS server refused the ticket: Ticket ST-1 not recognized'));
  const errcodeOf = (xml: string) => {
    try {
      parseCasValidation(xml);
      return 'parsed';
    } catch (err) {
      return err instanceof MatrixError ? `${err.errcode}: ${err.message}` : String(err);
    }
  };
  t.match(errcodeOf('<cas:serviceResponse><cas:authenticationSuccess></cas:authenticationSuccess></cas:serviceResponse>'), /^M_UNKNOWN: .*without cas:authenticationSuccess and cas:user/);
  t.match(errcodeOf('<a><b></a>'), /^M_UNKNOWN: .*not XML we can read \(unexpected <\/a>\)/);
  t.match(errcodeOf('<a>< b</a>'), /^M_UNKNOWN: .*not XML we can read \(unexpected text at character 3\)/);
});
