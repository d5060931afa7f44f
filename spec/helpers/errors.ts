import type { Test } from 'tap';

/** Asserts that `promise` fails with a MatrixError of `errcode` (and a message matching `message`). */
export async function rejectsWith(t: Test, promise: Promise<unknown>, errcode: string, message?: RegExp | string, label?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  t.match(error, { errcode, ...(message === undefined ? {} : { message }) }, label ?? `fails with ${errcode}`);
}
