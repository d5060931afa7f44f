/**
 * Binding a user's third-party identifiers (email addresses, phone numbers) at identity servers through
 * this homeserver (client-server API, "Adding Account Administrative Contact Information"): POST
 * /account/3pid/bind, /account/3pid/unbind, /account/3pid/delete, and the unbinding deactivation does.
 * The user validates the identifier with the identity server (a session id and client secret); this
 * server asks the identity server to bind it and remembers where, so that unbinding later needs no
 * identity server named. Unbind requests are signed by this server (X-Matrix), as the spec has it.
 *
 * Hearth does not keep identifiers on accounts yet (m.3pid_changes is off): /account/3pid/delete then
 * has nothing to remove from the account, and unbinds, as Synapse does.
 */
import type { IdentityServerClient } from '../identity/index.js';
import type { Logger } from '../platform/logger.js';
import { MatrixError } from '../protocol/index.js';

export interface Threepid {
  readonly medium: string;
  readonly address: string;
}

export interface ThreepidBinding extends Threepid {
  readonly idServer: string;
}

export interface ThreepidBindingStore {
  /** The user's bindings, or those of one identifier. */
  bindings(userId: string, threepid?: Threepid): Promise<ThreepidBinding[]>;
  add(userId: string, binding: ThreepidBinding): Promise<void>;
  remove(userId: string, binding: ThreepidBinding): Promise<void>;
}

export interface ThreepidBindingsDeps {
  readonly store: ThreepidBindingStore;
  readonly identity: IdentityServerClient;
  readonly log: Logger;
}

/** The spec's answer to an unbind: done at every identity server asked, or not (none known, or one failed). */
export type UnbindResult = 'success' | 'no-support';

export type ThreepidBindings = ReturnType<typeof createThreepidBindings>;

const MEDIA = new Set(['email', 'msisdn']);

function checkThreepid(threepid: Threepid): void {
  if (!MEDIA.has(threepid.medium)) throw new MatrixError('M_INVALID_PARAM', `medium must be email or msisdn, not '${threepid.medium.slice(0, 50)}'`);
  if (threepid.address === '') throw new MatrixError('M_INVALID_PARAM', 'address must not be empty');
}

export function createThreepidBindings(deps: ThreepidBindingsDeps) {
  const { store, identity } = deps;
  const log = deps.log.child({ component: 'threepid-bindings' });

  /**
   * Unbinds the identifier at `idServer`, or at every identity server this server bound it at. A binding
   * an identity server confirms gone is forgotten; one it would not undo is kept, and the answer says so.
   */
  async function unbind(userId: string, threepid: Threepid, idServer: string | undefined): Promise<UnbindResult> {
    const known = await store.bindings(userId, threepid);
    const servers = idServer !== undefined ? [idServer] : [...new Set(known.map((binding) => binding.idServer))];
    if (servers.length === 0) return 'no-support';
    let result: UnbindResult = 'success';
    for (const server of servers) {
      let done = false;
      try {
        done = await identity.unbind(server, userId, threepid);
      } catch (err) {
        log.info({ idServer: server, reason: err instanceof Error ? err.message : String(err) }, 'could not unbind a third-party identifier');
      }
      if (done) await store.remove(userId, { ...threepid, idServer: server });
      else result = 'no-support';
    }
    return result;
  }

  return {
    /** POST /account/3pid/bind. */
    async bind(userId: string, request: { readonly idServer: string; readonly idAccessToken: string; readonly sid: string; readonly clientSecret: string }): Promise<void> {
      const bound = await identity.bind(request.idServer, request.idAccessToken, { sid: request.sid, clientSecret: request.clientSecret, mxid: userId });
      await store.add(userId, { medium: bound.medium, address: bound.address, idServer: request.idServer });
      log.info({ medium: bound.medium }, 'third-party identifier bound');
    },

    /** POST /account/3pid/unbind. */
    async unbind(userId: string, threepid: Threepid, idServer?: string): Promise<UnbindResult> {
      checkThreepid(threepid);
      return unbind(userId, threepid, idServer);
    },

    /** POST /account/3pid/delete: nothing is kept on the account; the identifier is unbound. */
    async delete(userId: string, threepid: Threepid, idServer?: string): Promise<UnbindResult> {
      checkThreepid(threepid);
      return unbind(userId, threepid, idServer);
    },

    /**
     * Deactivation: every identifier bound through this server (or at `idServer`) is unbound. With none to
     * unbind the answer is 'success', as Synapse gives it: nothing was left bound.
     */
    async unbindAll(userId: string, idServer?: string): Promise<UnbindResult> {
      const known = await store.bindings(userId);
      const identifiers = [...new Map(known.map((binding) => [`${binding.medium}\n${binding.address}`, binding])).values()];
      let result: UnbindResult = 'success';
      for (const threepid of identifiers) {
        if ((await unbind(userId, threepid, idServer)) !== 'success') result = 'no-support';
      }
      return result;
    },
  };
}
