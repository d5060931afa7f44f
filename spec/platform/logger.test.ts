import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/platform/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

t.test('tokens, passwords and message bodies never reach the log', async (t) => {
  const { lines, log } = capture();
  log.info(
    {
      access_token: 'syt_secret_token',
      password: 'hunter2',
      body: { password: 'hunter3', new_password: 'hunter4' },
      req: { headers: { authorization: 'Bearer syt_other' } },
      content: { body: 'a private message', msgtype: 'm.text' },
      roomId: '!room:example.org',
    },
    'something happened',
  );
  const text = lines.join('');
  for (const secret of ['syt_secret_token', 'hunter2', 'hunter3', 'hunter4', 'syt_other', 'a private message']) {
    t.notMatch(text, secret, `${secret} is redacted`);
  }
  t.match(text, '!room:example.org', 'the rest of the line is kept');
  t.match(text, 'm.text');
});
