/**
 * The signature check of a third-party invite (auth rule "m.room.member invite", third_party_invite
 * branch, step 7; server-server-api.md "Verifying the invite"): the identity server signed
 * `third_party_invite.signed`, and its public keys were published in the m.room.third_party_invite event.
 */
import { Base64Error, decodeBase64, isPlainObject, verifyJsonSignature } from '../../crypto/index.js';
import type { RoomEvent } from '../event.js';

/** The public keys of an m.room.third_party_invite: `public_key` and each `public_keys[].public_key`. */
export function thirdPartyInvitePublicKeys(invite: RoomEvent): Uint8Array[] {
  const encoded: unknown[] = [invite.content.public_key];
  const list = invite.content.public_keys;
  if (Array.isArray(list)) {
    for (const entry of list) if (isPlainObject(entry)) encoded.push(entry.public_key);
  }
  const keys: Uint8Array[] = [];
  for (const key of encoded) {
    if (typeof key !== 'string') continue;
    try {
      keys.push(decodeBase64(key));
    } catch (err) {
      if (!(err instanceof Base64Error)) throw err;
    }
  }
  return keys;
}

/** True if any signature in `signed` verifies against any public key of the invite. */
export function thirdPartyInviteSignatureMatches(signed: Readonly<Record<string, unknown>>, invite: RoomEvent): boolean {
  const signatures = signed.signatures;
  if (!isPlainObject(signatures)) return false;
  const keys = thirdPartyInvitePublicKeys(invite);
  for (const [server, byKey] of Object.entries(signatures)) {
    if (!isPlainObject(byKey)) continue;
    for (const keyId of Object.keys(byKey)) {
      // verifyJsonSignature never throws; it checks ed25519 key ids only, the one algorithm Matrix signs with.
      if (keys.some((key) => verifyJsonSignature(signed, server, keyId, key))) return true;
    }
  }
  return false;
}

/**
 * The invite's public key (unpadded base64, as published) that verifies a signature in `signed`, with the
 * URL to ask whether the identity server still holds it valid: `public_keys[].key_validity_url`, or the
 * top-level `key_validity_url` for the top-level `public_key`. Undefined when no key verifies.
 */
export function thirdPartyInviteVerifyingKey(
  signed: Readonly<Record<string, unknown>>,
  invite: RoomEvent,
): { readonly publicKey: string; readonly keyValidityUrl: string | undefined } | undefined {
  const signatures = signed.signatures;
  if (!isPlainObject(signatures)) return undefined;
  const candidates: Array<{ publicKey: unknown; keyValidityUrl: unknown }> = [{ publicKey: invite.content.public_key, keyValidityUrl: invite.content.key_validity_url }];
  const list = invite.content.public_keys;
  if (Array.isArray(list)) {
    for (const entry of list) if (isPlainObject(entry)) candidates.push({ publicKey: entry.public_key, keyValidityUrl: entry.key_validity_url });
  }
  for (const candidate of candidates) {
    if (typeof candidate.publicKey !== 'string') continue;
    let key: Uint8Array;
    try {
      key = decodeBase64(candidate.publicKey);
    } catch (err) {
      if (!(err instanceof Base64Error)) throw err;
      continue;
    }
    for (const [server, byKey] of Object.entries(signatures)) {
      if (!isPlainObject(byKey)) continue;
      for (const keyId of Object.keys(byKey)) {
        if (verifyJsonSignature(signed, server, keyId, key)) {
          return { publicKey: candidate.publicKey, keyValidityUrl: typeof candidate.keyValidityUrl === 'string' ? candidate.keyValidityUrl : undefined };
        }
      }
    }
  }
  return undefined;
}
