import { encodeBase64, signJson, signingKeyFromSeed, type SigningKey } from '../../src/crypto/index.js';

/**
 * Real ed25519 keys for E2EE tests: device keys signed by the device, cross-signing keys signed as a
 * client signs them. Seeds are fixed bytes, so runs are repeatable.
 */

const seed = (byte: number) => new Uint8Array(32).fill(byte);

/** A device's signing key (key id ed25519:DEVICE) and its device keys, self-signed. */
export function deviceKeys(userId: string, deviceId: string, seedByte: number) {
  const key = signingKeyFromSeed(deviceId, seed(seedByte));
  const unsigned = {
    user_id: userId,
    device_id: deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${deviceId}`]: encodeBase64(seed(seedByte + 100)), [`ed25519:${deviceId}`]: encodeBase64(key.publicKey) },
  };
  return { key, json: signJson(unsigned, userId, key) };
}

/** An ed25519 key whose key id is ed25519:<its own public key>, as cross-signing keys are named. */
export function crossSigningKey(seedByte: number): { key: SigningKey; publicKey: string } {
  const key = signingKeyFromSeed('x', seed(seedByte));
  const publicKey = encodeBase64(key.publicKey);
  // Server signing key versions are [a-zA-Z0-9_]+; a cross-signing key id is its base64 public key.
  return { key: { ...key, keyId: `ed25519:${publicKey}` }, publicKey };
}

/** A user's master, self-signing and user-signing keys, the latter two signed by the master key. */
export function crossSigningKeys(userId: string, seedBase: number) {
  const master = crossSigningKey(seedBase);
  const selfSigning = crossSigningKey(seedBase + 1);
  const userSigning = crossSigningKey(seedBase + 2);
  const keyJson = (usage: string, publicKey: string) => ({ user_id: userId, usage: [usage], keys: { [`ed25519:${publicKey}`]: publicKey } });
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: keyJson('master', master.publicKey),
      self_signing_key: signJson(keyJson('self_signing', selfSigning.publicKey), userId, master.key),
      user_signing_key: signJson(keyJson('user_signing', userSigning.publicKey), userId, master.key),
    },
  };
}
