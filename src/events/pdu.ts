/**
 * A PDU as it travels between servers: the wire JSON, with the spec's snake_case names, exactly as it was
 * signed. Fields are `unknown` until a format check has looked at them; code that hashes, signs or redacts
 * works on this form and never rebuilds it from a typed object (that would change what was signed).
 */
export type PduJson = Readonly<Record<string, unknown>>;

/** Reads a top-level string field (`type`, `sender`, `state_key`...), or undefined if absent or not a string. */
export function stringField(pdu: PduJson, name: string): string | undefined {
  const value = Object.hasOwn(pdu, name) ? pdu[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}
