import { isPlainObject } from '../crypto/index.js';
import { MatrixError, type Errcode } from '../protocol/index.js';
import type { AccountStore, AuthDict, PasswordHasher, Requester, Uia } from '../users/index.js';
import { passwordStage } from '../users/index.js';
import {
  CROSS_SIGNING_TYPES,
  checkCrossSigningKey,
  sameKey,
  sameSignedContent,
  signaturesOf,
  signedBy,
  type CrossSigningType,
  type KeyJson,
} from './key-json.js';
import type { DeviceListChange, KeyStore, StoredCrossSigningKey, StoredSignature } from './ports.js';

/**
 * Cross-signing (client-server API, "Cross-signing"): a user's master key signs their self-signing and
 * user-signing keys; the self-signing key signs their devices, the user-signing key other users' master
 * keys. Every signature Hearth stores is checked first, so a client never fetches one that does not verify.
 */

export interface CrossSigningDeps {
  readonly store: KeyStore;
  readonly uia: Uia;
  readonly passwords: PasswordHasher;
  readonly accounts: Pick<AccountStore, 'user'>;
  /** Tells syncs of a change on the device-list stream, and federation of the devices named (KeysService.announce). */
  readonly announce: (userId: string, position: number, deviceIds?: readonly string[]) => Promise<void>;
  /** Tells one user's syncs (a signature only they can see). */
  readonly announceTo: (userId: string, position: number) => void;
  /** Told of a new master and/or self-signing key (federation's m.signing_key_update); never throws. */
  readonly federateKeys?: (userId: string, keys: { readonly master?: KeyJson; readonly selfSigning?: KeyJson }) => Promise<void>;
}

export const CROSS_SIGNING_FLOWS = [['m.login.password']] as const;

export interface CrossSigningUpload {
  readonly master_key?: unknown;
  readonly self_signing_key?: unknown;
  readonly user_signing_key?: unknown;
  readonly auth?: AuthDict;
}

type Failure = { errcode: Errcode; error: string };

class SignatureFailure extends Error {
  constructor(readonly errcode: Errcode, message: string) {
    super(message);
  }
}

export function createCrossSigning(deps: CrossSigningDeps) {
  const { store } = deps;

  async function ownKeys(userId: string): Promise<Map<CrossSigningType, StoredCrossSigningKey>> {
    return new Map((await store.crossSigningKeys([userId])).map((key) => [key.type, key]));
  }

  /** The new signatures in `signed` by the signer's keys `signerKeyIds` that verify against `publicKeyOf`. */
  function verifiedSignatures(signed: KeyJson, signer: string, publicKeyOf: (keyId: string) => string | undefined): Array<[string, string]> {
    const result: Array<[string, string]> = [];
    for (const [user, keyId, signature] of signaturesOf(signed)) {
      if (user !== signer) continue;
      const publicKey = publicKeyOf(keyId);
      if (publicKey === undefined) continue;
      if (!signedBy(signed, signer, keyId, publicKey)) throw new SignatureFailure('M_INVALID_SIGNATURE', `The signature by ${keyId} does not verify`);
      result.push([keyId, signature]);
    }
    return result;
  }

  return {
    /** POST /keys/device_signing/upload. */
    async upload(requester: Requester, body: CrossSigningUpload): Promise<void> {
      const userId = requester.userId;
      const given = new Map<CrossSigningType, { json: KeyJson; publicKey: string }>();
      for (const type of CROSS_SIGNING_TYPES) {
        const json = body[`${type}_key`];
        if (json !== undefined) given.set(type, checkCrossSigningKey(json, userId, type));
      }
      const existing = await ownKeys(userId);
      // New keys need the password once a master key is there; the same keys again (a retry) do not.
      const unchanged = [...given].every(([type, key]) => {
        const stored = existing.get(type);
        return stored !== undefined && sameKey(stored.json, key.json);
      });
      // An application service replaces its users' keys without user-interactive auth (Matrix 1.17).
      if (existing.has('master') && !unchanged && requester.appservice === undefined) {
        await deps.uia.check('POST /keys/device_signing/upload', CROSS_SIGNING_FLOWS.map((flow) => [...flow]), body.auth, {
          'm.login.password': passwordStage({ store: deps.accounts, passwords: deps.passwords }, userId),
        });
      }
      if (given.size === 0 || unchanged) return;

      const master = given.get('master') ?? existing.get('master');
      if (master === undefined) throw new MatrixError('M_MISSING_PARAM', 'Upload a master_key first: the other keys must be signed by it');
      const masterKeyId = `ed25519:${master.publicKey}`;
      for (const type of ['self_signing', 'user_signing'] as const) {
        const key = given.get(type);
        if (key !== undefined && !signedBy(key.json, userId, masterKeyId, master.publicKey)) {
          throw new MatrixError('M_INVALID_SIGNATURE', `${type}_key must be signed by your master key ${masterKeyId}`, { status: 400 });
        }
      }
      const deviceIds = new Set(await store.deviceIds(userId));
      for (const [type, key] of given) {
        if (deviceIds.has(key.publicKey)) throw new MatrixError('M_FORBIDDEN', `The ${type} key's public key is one of your device ids`);
      }
      // Only the user sees their user-signing key: a new one alone is no news to anyone else.
      const ownerOnly = [...given.keys()].every((type) => type === 'user_signing');
      const position = await store.putCrossSigningKeys(
        userId,
        [...given].map(([type, key]) => ({ userId, type, publicKey: key.publicKey, json: key.json })),
        ownerOnly ? { userId, onlyFor: userId } : { userId },
      );
      if (ownerOnly) deps.announceTo(userId, position);
      else await deps.announce(userId, position);
      // Other servers never see the user-signing key.
      const newMaster = given.get('master')?.json;
      const newSelfSigning = given.get('self_signing')?.json;
      if (newMaster !== undefined || newSelfSigning !== undefined) {
        await deps.federateKeys?.(userId, { ...(newMaster ? { master: newMaster } : {}), ...(newSelfSigning ? { selfSigning: newSelfSigning } : {}) });
      }
    },

    /**
     * POST /keys/signatures/upload: checks every signature and stores those that verify; the others are
     * listed per user and key id in `failures`.
     */
    async uploadSignatures(requester: Requester, body: Readonly<Record<string, unknown>>): Promise<{ failures: Record<string, Record<string, Failure>> }> {
      const me = requester.userId;
      const failures: Record<string, Record<string, Failure>> = {};
      const mine = await ownKeys(me);
      const accepted: StoredSignature[] = [];
      const changes: DeviceListChange[] = [];
      // My devices newly signed by my self-signing key: other servers get them again, with the signature.
      const signedDevices = new Set<string>();

      for (const [targetUser, objects] of Object.entries(body)) {
        if (!isPlainObject(objects)) throw new MatrixError('M_BAD_JSON', `${targetUser} must map key ids to signed objects`);
        for (const [targetKeyId, signed] of Object.entries(objects)) {
          try {
            if (!isPlainObject(signed)) throw new SignatureFailure('M_BAD_JSON', 'The signed key must be an object');
            let found: Array<[string, string]>;
            if (targetUser === me) {
              const master = mine.get('master');
              if (master !== undefined && targetKeyId === master.publicKey) {
                // My master key, signed by one of my devices.
                if (!sameSignedContent(signed, master.json)) throw new SignatureFailure('M_INVALID_SIGNATURE', 'The key does not match your master key');
                const devices = new Map((await store.publishedDevices(new Map([[me, 'all' as const]]))).map((device) => [device.deviceId, device.keys]));
                found = verifiedSignatures(signed, me, (keyId) => {
                  const keys = devices.get(keyId.slice('ed25519:'.length))?.keys;
                  return isPlainObject(keys) && typeof keys[keyId] === 'string' ? keys[keyId] : undefined;
                });
              } else {
                // One of my devices, signed by my self-signing key.
                const device = await store.deviceKeys(me, targetKeyId);
                if (device === undefined) throw new SignatureFailure('M_NOT_FOUND', `You have no device or key ${targetKeyId}`);
                const selfSigning = mine.get('self_signing');
                if (selfSigning === undefined) throw new SignatureFailure('M_NOT_FOUND', 'You have no self-signing key to sign devices with');
                if (!sameSignedContent(signed, device)) throw new SignatureFailure('M_INVALID_SIGNATURE', 'The key does not match the device keys');
                found = verifiedSignatures(signed, me, (keyId) => (keyId === `ed25519:${selfSigning.publicKey}` ? selfSigning.publicKey : undefined));
                if (found.length > 0) signedDevices.add(targetKeyId);
              }
              if (found.length > 0) changes.push({ userId: me });
            } else {
              // Another user's master key, signed by my user-signing key.
              const userSigning = mine.get('user_signing');
              if (userSigning === undefined) throw new SignatureFailure('M_NOT_FOUND', 'You have no user-signing key to sign other users with');
              const [theirs] = (await store.crossSigningKeys([targetUser])).filter((key) => key.type === 'master');
              if (theirs === undefined || theirs.publicKey !== targetKeyId) throw new SignatureFailure('M_NOT_FOUND', `${targetUser} has no master key ${targetKeyId}`);
              if (!sameSignedContent(signed, theirs.json)) throw new SignatureFailure('M_INVALID_SIGNATURE', `The key does not match ${targetUser}'s master key`);
              found = verifiedSignatures(signed, me, (keyId) => (keyId === `ed25519:${userSigning.publicKey}` ? userSigning.publicKey : undefined));
              if (found.length > 0) changes.push({ userId: targetUser, onlyFor: me });
            }
            if (found.length === 0) throw new SignatureFailure('M_INVALID_SIGNATURE', 'No signature by a key that may sign this one');
            for (const [signerKeyId, signature] of found) accepted.push({ targetUserId: targetUser, targetKeyId, signerUserId: me, signerKeyId, signature });
          } catch (err) {
            if (!(err instanceof SignatureFailure)) throw err;
            (failures[targetUser] ??= {})[targetKeyId] = { errcode: err.errcode, error: err.message };
          }
        }
      }
      if (accepted.length > 0) {
        const position = await store.addSignatures(accepted, changes);
        if (changes.some((change) => change.onlyFor === undefined)) await deps.announce(me, position, [...signedDevices]);
        else deps.announceTo(me, position);
      }
      return { failures };
    },
  };
}

export type CrossSigning = ReturnType<typeof createCrossSigning>;
