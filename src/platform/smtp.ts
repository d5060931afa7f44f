/**
 * Sending mail over SMTP (RFC 5321), for the validation links of email addresses: one connection per
 * message to the operator's relay (email.smtp_host), plain text, UTF-8. What is sent is the minimum a
 * relay on the same network takes: EHLO (HELO for an old one), MAIL FROM, RCPT TO, DATA, QUIT.
 * STARTTLS and AUTH are not spoken: point it at a local relay (Postfix, or the platform's) that does.
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';

export interface SmtpOptions {
  readonly host: string;
  readonly port: number;
  /** The envelope and From: address. */
  readonly from: string;
  /** The name this server gives itself in EHLO and Message-ID. */
  readonly heloName: string;
  readonly timeoutMs: number;
}

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  /** Plain text; lines end as they will (CRLF is made here). */
  readonly text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** A relay that refused the message, or could not be reached. */
export class SmtpError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SmtpError';
  }
}

/** An address as SMTP carries it: no angle brackets, spaces or line breaks (they would forge commands). */
function envelopeAddress(address: string): string {
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(address)) throw new SmtpError(`'${address.slice(0, 100)}' is not an address mail can be sent to`);
  return address;
}

/** A header value with no line breaks; non-ASCII is encoded (RFC 2047). */
function headerValue(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat, 'utf8').toString('base64')}?=`;
}

/** The message as DATA carries it: headers, a blank line, the body with CRLF endings and dots stuffed. */
export function formatMessage(options: Pick<SmtpOptions, 'from' | 'heloName'>, message: MailMessage, date: Date): string {
  const body = message.text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
  return [
    `From: ${headerValue(options.from)}`,
    `To: ${headerValue(message.to)}`,
    `Subject: ${headerValue(message.subject)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${options.heloName}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
  ].join('\r\n');
}

export function createMailer(options: SmtpOptions): Mailer {
  return {
    async send(message: MailMessage): Promise<void> {
      const from = envelopeAddress(options.from);
      const to = envelopeAddress(message.to);
      const session = await SmtpSession.open(options);
      try {
        await session.expect(220);
        const ehlo = await session.command(`EHLO ${options.heloName}`);
        if (ehlo.code !== 250) await session.command(`HELO ${options.heloName}`, 250);
        await session.command(`MAIL FROM:<${from}>`, 250);
        await session.command(`RCPT TO:<${to}>`, 250, 251);
        await session.command('DATA', 354);
        await session.command(`${formatMessage(options, message, new Date())}\r\n.`, 250);
        await session.command('QUIT').catch(() => undefined);
      } finally {
        session.close();
      }
    },
  };
}

interface Reply {
  readonly code: number;
  readonly text: string;
}

/** One SMTP conversation: replies are read line by line (a multi-line reply ends at "NNN "). */
class SmtpSession {
  #buffer = '';
  #lines: string[] = [];
  #waiting: ((line: string | Error) => void) | undefined;
  #failure: Error | undefined;

  private constructor(private readonly socket: Socket, private readonly options: SmtpOptions) {
    socket.setEncoding('utf8');
    socket.setTimeout(options.timeoutMs, () => this.fail(new SmtpError(`${options.host}:${options.port} did not answer in time`)));
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let end: number;
      while ((end = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, end).replace(/\r$/, '');
        this.#buffer = this.#buffer.slice(end + 1);
        this.deliver(line);
      }
    });
    socket.on('error', (err) => this.fail(new SmtpError(`${options.host}:${options.port}: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new SmtpError(`${options.host}:${options.port} closed the connection`)));
  }

  static open(options: SmtpOptions): Promise<SmtpSession> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      const session = new SmtpSession(socket, options);
      const refused = (err: Error) => reject(new SmtpError(`${options.host}:${options.port} could not be reached: ${err.message}`, { cause: err }));
      socket.once('error', refused);
      socket.connect(options.port, options.host, () => {
        socket.off('error', refused);
        resolve(session);
      });
    });
  }

  private deliver(line: string): void {
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting(line);
    } else {
      this.#lines.push(line);
    }
  }

  private fail(err: Error): void {
    this.#failure ??= err;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(err);
    this.socket.destroy();
  }

  private nextLine(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = (value) => (value instanceof Error ? reject(value) : resolve(value));
    });
  }

  private async reply(): Promise<Reply> {
    const text: string[] = [];
    for (;;) {
      const line = await this.nextLine();
      const match = /^(\d{3})([ -])(.*)$/.exec(line);
      if (!match) throw new SmtpError(`${this.options.host} answered something that is not SMTP`);
      text.push(match[3]!);
      if (match[2] === ' ') return { code: Number(match[1]), text: text.join(' ') };
    }
  }

  async expect(...codes: number[]): Promise<Reply> {
    const reply = await this.reply();
    if (codes.length > 0 && !codes.includes(reply.code)) {
      throw new SmtpError(`${this.options.host} refused: ${reply.code} ${reply.text.slice(0, 200)}`);
    }
    return reply;
  }

  async command(line: string, ...codes: number[]): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.expect(...codes);
  }

  close(): void {
    this.socket.destroy();
  }
}
