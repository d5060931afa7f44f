import t from 'tap';
import { AppServices, interestedInRoom, interestedWithoutRoom, parseRegistration, RegistrationError } from '../../src/appservice/index.js';
import { parseServerName } from '../../src/protocol/index.js';

const SERVER = parseServerName('example.org');

const irc = {
  id: 'irc',
  url: 'http://127.0.0.1:9000/',
  as_token: 'as-secret',
  hs_token: 'hs-secret',
  sender_localpart: '_irc_bot',
  namespaces: {
    users: [{ exclusive: true, regex: '@_irc_.*' }],
    aliases: [{ exclusive: false, regex: '#irc_.*' }],
    rooms: [{ exclusive: false, regex: '!bridged.*' }],
  },
  protocols: ['irc'],
};

t.test('a registration file becomes an application service', async (t) => {
  const service = parseRegistration(irc, SERVER);
  t.match(service, { id: 'irc', url: 'http://127.0.0.1:9000', sender: '@_irc_bot:example.org', rateLimited: true, protocols: ['irc'], receiveEphemeral: false });
  t.equal(parseRegistration({ ...irc, url: null, rate_limited: false }, SERVER).url, null, 'a null url: no traffic');
  t.equal(parseRegistration({ ...irc, rate_limited: false }, SERVER).rateLimited, false);
});

t.test('a registration that cannot be used says which key is wrong', async (t) => {
  const broken: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...irc, id: '' }, /id must be a non-empty string/],
    [{ ...irc, url: undefined }, /url must be/],
    [{ ...irc, url: 'ftp://x' }, /http or https/],
    [{ ...irc, hs_token: 'as-secret' }, /must differ/],
    [{ ...irc, sender_localpart: 'Not Valid' }, /sender_localpart/],
    [{ ...irc, namespaces: { users: [{ regex: '@x' }] } }, /namespaces\.users\[0\]\.exclusive/],
    [{ ...irc, namespaces: { users: [{ exclusive: true, regex: '@(' }] } }, /not a regular expression/],
    [{ ...irc, rate_limited: 'yes' }, /rate_limited/],
  ];
  for (const [raw, message] of broken) t.throws(() => parseRegistration(raw, SERVER), message);
  const { url: _url, ...noUrl } = irc;
  t.throws(() => parseRegistration(noUrl, SERVER), /url is required/);
  t.throws(() => parseRegistration('text', SERVER), RegistrationError);
});

t.test('namespaces answer who owns what', async (t) => {
  const service = parseRegistration(irc, SERVER);
  const other = parseRegistration({ ...irc, id: 'other', as_token: 'other-as', sender_localpart: 'other_bot', namespaces: { users: [{ exclusive: false, regex: '@shared.*' }] } }, SERVER);
  const services = new AppServices([service, other], SERVER);
  t.equal(services.byToken('as-secret'), service);
  t.equal(services.byToken('hs-secret'), undefined, 'the hs_token is not a way in');
  t.ok(services.ownsUser(service, '@_irc_alice:example.org'));
  t.ok(services.ownsUser(service, '@_irc_bot:example.org'), 'its own user');
  t.notOk(services.ownsUser(service, '@alice_irc_x:example.org'), 'regexes match from the start');
  t.notOk(services.ownsUser(service, '@_irc_alice:elsewhere.org'), 'users of other servers are never its users');
  t.equal(services.exclusiveUserOwner('@_irc_alice:example.org'), service);
  t.equal(services.exclusiveUserOwner('@other_bot:example.org'), other, "a service's own user is reserved");
  t.equal(services.exclusiveUserOwner('@shared1:example.org'), undefined, 'a non-exclusive namespace reserves nothing');
  t.equal(services.exclusiveAliasOwner('#irc_chan:example.org'), undefined);
  t.same(services.interestedInAlias('#irc_chan:example.org'), [service]);

  const message = { sender: '@bob:example.org', roomId: '!room:example.org', type: 'm.room.message' };
  t.notOk(interestedWithoutRoom(service, services, message));
  t.ok(interestedWithoutRoom(service, services, { ...message, sender: '@_irc_alice:example.org' }), 'sent by one of its users');
  t.ok(interestedWithoutRoom(service, services, { ...message, type: 'm.room.member', stateKey: '@_irc_alice:example.org' }), 'one of its users is the target');
  t.ok(interestedWithoutRoom(service, services, { ...message, roomId: '!bridged1:example.org' }), 'a room in its namespace');
  t.ok(interestedInRoom(service, services, ['@bob:example.org', '@_irc_carol:example.org'], []), 'a room one of its users is in');
  t.ok(interestedInRoom(service, services, [], ['#irc_chan:example.org']), 'a room with one of its aliases');
  t.notOk(interestedInRoom(service, services, ['@bob:example.org'], ['#general:example.org']));
});

t.test('two services may not share an id or an as_token', async (t) => {
  const service = parseRegistration(irc, SERVER);
  t.throws(() => new AppServices([service, parseRegistration({ ...irc, as_token: 'x' }, SERVER)], SERVER), /the id "irc"/);
  t.throws(() => new AppServices([service, parseRegistration({ ...irc, id: 'irc2' }, SERVER)], SERVER), /same as_token/);
});
