import t, { type Test } from 'tap';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createMailer, formatMessage, SmtpError } from '../../src/platform/smtp.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Email addresses on accounts over real HTTP and a mail relay of the test's own (SMTP on loopback): the
 * validation link is mailed, followed, and the address added (with the password); the user then logs in
 * with it; an address belongs to one account; deleting it ends that.
 */

interface Relay {
  readonly port: number;
  /** The messages received: envelope recipient and DATA. */
  readonly mail: Array<{ to: string; data: string }>;
  next(): Promise<{ to: string; data: string }>;
}

/** A minimal SMTP server: enough of RFC 5321 to take one message per connection. */
async function startRelay(t: Test): Promise<Relay> {
  const mail: Array<{ to: string; data: string }> = [];
  const waiting: Array<(message: { to: string; data: string }) => void> = [];
  const server = createServer((socket: Socket) => {
    let buffer = '';
    let inData = false;
    let data = '';
    let to = '';
    socket.setEncoding('utf8');
    socket.write('220 relay.test ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            const message = { to, data };
            mail.push(message);
            waiting.shift()?.(message);
            socket.write('250 queued\r\n');
          } else {
            data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-relay.test\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') socket.write('250 ok\r\n');
        else if (verb === 'RCPT') {
          to = /<(.*)>/.exec(line)?.[1] ?? '';
          socket.write('250 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          data = '';
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 not here\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    port: (server.address() as AddressInfo).port,
    mail,
    next: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

async function call(base: string, method: string, path: string, token: string | null, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as Record<string, any> };
}

async function register(base: string, username: string): Promise<{ userId: string; token: string }> {
  const res = await call(base, 'POST', '/_matrix/client/v3/register', null, { username, password: 'correct horse', auth: { type: 'm.login.dummy' } });
  return { userId: res.body.user_id as string, token: res.body.access_token as string };
}

t.test('an email address is validated by a mailed link, added with the password, and logs in', async (t) => {
  const relay = await startRelay(t);
  const server = await startTestServer(t, 'embedded', `email: { smtp_host: 127.0.0.1, smtp_port: ${relay.port}, notif_from: "hearth@hearth.test" }`);
  const base = server.url;
  const alice = await register(base, 'alice');
  const bob = await register(base, 'bob');

  const capabilities = await call(base, 'GET', '/_matrix/client/v3/capabilities', alice.token);
  t.same(capabilities.body.capabilities['m.3pid_changes'], { enabled: true }, 'with mail, addresses can be added');

  const mailed = relay.next();
  const requested = await call(base, 'POST', '/_matrix/client/v3/account/3pid/email/requestToken', alice.token, { client_secret: 'secret1', email: 'Alice@Example.org', send_attempt: 1 });
  t.equal(requested.status, 200, JSON.stringify(requested.body));
  const message = await mailed;
  t.equal(message.to, 'alice@example.org', 'sent to the address, lower-cased');
  t.match(message.data, /^Subject: Confirm your email address on hearth\.test$/m);
  const link = /(http\S*)/.exec(message.data.split('\n\n').slice(1).join('\n\n'))?.[1];
  t.ok(link?.includes('/_hearth/client/email/validate?'), 'the body starts with the link');
  const again = await call(base, 'POST', '/_matrix/client/v3/account/3pid/email/requestToken', alice.token, { client_secret: 'secret1', email: 'alice@example.org', send_attempt: 1 });
  t.equal(again.body.sid, requested.body.sid, 'the same send_attempt: the same session, no second mail');
  t.equal(relay.mail.length, 1);

  const early = await call(base, 'POST', '/_matrix/client/v3/account/3pid', alice.token, { three_pid_creds: { sid: requested.body.sid, client_secret: 'secret1' } });
  t.match(early, { status: 400, body: { errcode: 'M_THREEPID_AUTH_FAILED', error: /not been validated/ } }, 'not before the link is followed');

  const linkUrl = new URL(link!);
  const wrong = await fetch(`${base}${linkUrl.pathname}?${new URLSearchParams({ ...Object.fromEntries(linkUrl.searchParams), token: 'nope' })}`);
  t.equal(wrong.status, 400, 'a wrong token validates nothing');
  await wrong.text();
  const followed = await fetch(`${base}${linkUrl.pathname}${linkUrl.search}`);
  t.equal(followed.status, 200);
  t.match(await followed.text(), /Email address confirmed/);

  const asked = await call(base, 'POST', '/_matrix/client/v3/account/3pid/add', alice.token, { sid: requested.body.sid, client_secret: 'secret1' });
  t.equal(asked.status, 401, 'adding asks for the password');
  const added = await call(base, 'POST', '/_matrix/client/v3/account/3pid/add', alice.token, {
    sid: requested.body.sid,
    client_secret: 'secret1',
    auth: { type: 'm.login.password', session: asked.body.session, identifier: { type: 'm.id.user', user: alice.userId }, password: 'correct horse' },
  });
  t.equal(added.status, 200, JSON.stringify(added.body));
  const listed = await call(base, 'GET', '/_matrix/client/v3/account/3pid', alice.token);
  t.match(listed.body, { threepids: [{ medium: 'email', address: 'alice@example.org', validated_at: Number, added_at: Number }] });

  const byIdentifier = await call(base, 'POST', '/_matrix/client/v3/login', null, { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'alice@example.org' }, password: 'correct horse' });
  t.equal(byIdentifier.body.user_id, alice.userId, 'logs in with the address');
  const legacy = await call(base, 'POST', '/_matrix/client/v3/login', null, { type: 'm.login.password', medium: 'email', address: 'ALICE@example.org', password: 'correct horse' });
  t.equal(legacy.body.user_id, alice.userId, 'and with the deprecated top-level medium and address');
  t.match(await call(base, 'POST', '/_matrix/client/v3/login', null, { type: 'm.login.password', medium: 'email', address: 'alice@example.org', password: 'wrong' }), { status: 403, body: { errcode: 'M_FORBIDDEN' } });
  t.match(await call(base, 'POST', '/_matrix/client/v3/login', null, { type: 'm.login.password', medium: 'email', address: 'nobody@example.org', password: 'correct horse' }), { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' } }, 'an unknown address reads as a wrong password');

  t.match(await call(base, 'POST', '/_matrix/client/v3/account/3pid/email/requestToken', bob.token, { client_secret: 'bobs', email: 'alice@example.org', send_attempt: 1 }), { status: 400, body: { errcode: 'M_THREEPID_IN_USE' } }, 'one account per address');
  t.match(await call(base, 'POST', '/_matrix/client/v3/account/3pid/email/requestToken', bob.token, { client_secret: 'bobs', email: 'not an address', send_attempt: 1 }), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });

  // A forgotten password is reset by proving the address, without an access token.
  t.match(await call(base, 'POST', '/_matrix/client/v3/account/password/email/requestToken', null, { client_secret: 'reset', email: 'nobody@example.org', send_attempt: 1 }), { status: 400, body: { errcode: 'M_THREEPID_NOT_FOUND' } });
  const resetMail = relay.next();
  const reset = await call(base, 'POST', '/_matrix/client/v3/account/password/email/requestToken', null, { client_secret: 'reset', email: 'alice@example.org', send_attempt: 1 });
  t.equal(reset.status, 200, JSON.stringify(reset.body));
  const resetLink = new URL(/(http\S*)/.exec((await resetMail).data.split('\n\n').slice(1).join('\n\n'))![1]!);
  const flows = await call(base, 'POST', '/_matrix/client/v3/account/password', null, { new_password: 'battery staple' });
  t.match(flows, { status: 401, body: { flows: [{ stages: ['m.login.email.identity'] }] } });
  t.equal((await fetch(`${base}${resetLink.pathname}${resetLink.search}`)).status, 200);
  const changed = await call(base, 'POST', '/_matrix/client/v3/account/password', null, {
    new_password: 'battery staple',
    auth: { type: 'm.login.email.identity', session: flows.body.session, threepid_creds: { sid: reset.body.sid, client_secret: 'reset' } },
  });
  t.equal(changed.status, 200, JSON.stringify(changed.body));
  t.equal((await call(base, 'GET', '/_matrix/client/v3/account/whoami', alice.token)).status, 401, 'every device is logged out');
  const relogged = await call(base, 'POST', '/_matrix/client/v3/login', null, { type: 'm.login.password', medium: 'email', address: 'alice@example.org', password: 'battery staple' });
  t.equal(relogged.body.user_id, alice.userId, 'the new password logs in');
  alice.token = relogged.body.access_token as string;

  const deleted = await call(base, 'POST', '/_matrix/client/v3/account/3pid/delete', alice.token, { medium: 'email', address: 'alice@example.org' });
  t.same(deleted.body, { id_server_unbind_result: 'no-support' }, 'bound at no identity server');
  t.same((await call(base, 'GET', '/_matrix/client/v3/account/3pid', alice.token)).body, { threepids: [] });
  t.equal((await call(base, 'POST', '/_matrix/client/v3/login', null, { type: 'm.login.password', medium: 'email', address: 'alice@example.org', password: 'battery staple' })).status, 403, 'the address logs in no more');
});

t.test('a new user registers with a validated email address, which goes on the account', async (t) => {
  const relay = await startRelay(t);
  const server = await startTestServer(t, 'embedded', `email: { smtp_host: 127.0.0.1, smtp_port: ${relay.port} }`);
  const base = server.url;
  const first = await call(base, 'POST', '/_matrix/client/v3/register', null, { username: 'carol', password: 'correct horse' });
  t.equal(first.status, 401);
  t.same(first.body.flows, [{ stages: ['m.login.dummy'] }, { stages: ['m.login.email.identity'] }], 'with mail, an email flow beside the dummy one');

  const mailed = relay.next();
  const requested = await call(base, 'POST', '/_matrix/client/v3/register/email/requestToken', null, { client_secret: 'carols', email: 'carol@example.org', send_attempt: 1 });
  t.equal(requested.status, 200, JSON.stringify(requested.body));
  const message = await mailed;
  t.match(message.data, /to create your Matrix account on hearth\.test/);
  const early = await call(base, 'POST', '/_matrix/client/v3/register', null, {
    username: 'carol', password: 'correct horse',
    auth: { type: 'm.login.email.identity', session: first.body.session, threepid_creds: { sid: requested.body.sid, client_secret: 'carols' } },
  });
  t.equal(early.status, 401, 'not before the link is followed');
  t.match(early.body, { errcode: 'M_THREEPID_AUTH_FAILED', completed: [] });

  const link = new URL(/(http\S*)/.exec(message.data.split('\n\n').slice(1).join('\n\n'))![1]!);
  t.equal((await fetch(`${base}${link.pathname}${link.search}`)).status, 200);
  const registered = await call(base, 'POST', '/_matrix/client/v3/register', null, {
    username: 'carol', password: 'correct horse',
    auth: { type: 'm.login.email.identity', session: first.body.session, threepid_creds: { sid: requested.body.sid, client_secret: 'carols' } },
  });
  t.equal(registered.status, 200, JSON.stringify(registered.body));
  t.match((await call(base, 'GET', '/_matrix/client/v3/account/3pid', registered.body.access_token)).body, { threepids: [{ medium: 'email', address: 'carol@example.org' }] });
  const login = await call(base, 'POST', '/_matrix/client/v3/login', null, { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'carol@example.org' }, password: 'correct horse' });
  t.equal(login.body.user_id, registered.body.user_id, 'and logs in with it');
  t.match(await call(base, 'POST', '/_matrix/client/v3/register/email/requestToken', null, { client_secret: 'other', email: 'carol@example.org', send_attempt: 1 }), { status: 400, body: { errcode: 'M_THREEPID_IN_USE' } });
});

t.test('registration_requires_email: no account without a validated address', async (t) => {
  const relay = await startRelay(t);
  const server = await startTestServer(t, 'embedded', `registration_requires_email: true\nemail: { smtp_host: 127.0.0.1, smtp_port: ${relay.port} }`);
  const base = server.url;
  const first = await call(base, 'POST', '/_matrix/client/v3/register', null, { username: 'dan', password: 'correct horse' });
  t.same(first.body.flows, [{ stages: ['m.login.email.identity'] }], 'the email flow alone');
  const dummy = await call(base, 'POST', '/_matrix/client/v3/register', null, { auth: { type: 'm.login.dummy', session: first.body.session } });
  t.same([dummy.status, dummy.body.completed], [401, []], 'the dummy stage leads nowhere');

  const mailed = relay.next();
  const requested = await call(base, 'POST', '/_matrix/client/v3/register/email/requestToken', null, { client_secret: 'dans', email: 'dan@example.org', send_attempt: 1 });
  const link = new URL(/(http\S*)/.exec((await mailed).data.split('\n\n').slice(1).join('\n\n'))![1]!);
  t.equal((await fetch(`${base}${link.pathname}${link.search}`)).status, 200);
  const registered = await call(base, 'POST', '/_matrix/client/v3/register', null, {
    auth: { type: 'm.login.email.identity', session: first.body.session, threepid_creds: { sid: requested.body.sid, client_secret: 'dans' } },
  });
  t.equal(registered.status, 200, JSON.stringify(registered.body));
  t.equal(registered.body.user_id, '@dan:hearth.test');
  t.match((await call(base, 'GET', '/_matrix/client/v3/account/3pid', registered.body.access_token)).body, { threepids: [{ medium: 'email', address: 'dan@example.org' }] });
});

t.test('without a mail relay, addresses cannot be validated', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const alice = await register(server.url, 'alice');
  t.same((await call(server.url, 'GET', '/_matrix/client/v3/capabilities', alice.token)).body.capabilities['m.3pid_changes'], { enabled: false });
  t.match(await call(server.url, 'POST', '/_matrix/client/v3/account/3pid/email/requestToken', alice.token, { client_secret: 's', email: 'a@example.org', send_attempt: 1 }), {
    status: 400,
    body: { errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED', error: /smtp_host/ },
  });
});

t.test('SMTP: the message as sent, and what the relay refuses', async (t) => {
  const text = formatMessage({ from: 'hearth@example.org', heloName: 'example.org' }, { to: 'a@example.org', subject: 'Grüße', text: 'line one\n.starts with a dot\n' }, new Date(0));
  t.match(text, /^Subject: =\?UTF-8\?B\?R3LDvMOfZQ==\?=\r$/m, 'a non-ASCII subject is encoded');
  t.match(text, /\r\n\.\.starts with a dot\r\n/, 'a leading dot is doubled');
  t.notMatch(text, /[^\r]\n/, 'every line ends with CRLF');

  const mailer = createMailer({ host: '127.0.0.1', port: 9, from: 'hearth@example.org', heloName: 'example.org', timeoutMs: 2000 });
  await t.rejects(mailer.send({ to: 'a@example.org\r\nRCPT TO:<b@example.org>', subject: 's', text: 't' }), SmtpError, 'an address with a line break is refused before connecting');
  await t.rejects(mailer.send({ to: 'a@example.org', subject: 's', text: 't' }), SmtpError, 'a relay that cannot be reached');
});
