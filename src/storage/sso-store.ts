import type postgres from 'postgres';
import type { UserId } from '../protocol/index.js';
import type { ExternalIdentity, SsoSignIn, SsoStore } from '../users/index.js';

/** Single sign-on's identities and sign-ins (src/users/ports.ts) on migrations/0037_sso.sql. */
export function createSsoStore(sql: postgres.Sql): SsoStore {
  return {
    async userOfIdentity(identity: ExternalIdentity): Promise<UserId | undefined> {
      const [row] = await sql<{ user_id: string }[]>`
        select user_id from sso_identities where provider = ${identity.provider} and subject = ${identity.subject}`;
      return row?.user_id as UserId | undefined;
    },

    async identitiesOf(userId: UserId): Promise<ExternalIdentity[]> {
      const rows = await sql<{ provider: string; subject: string }[]>`
        select provider, subject from sso_identities where user_id = ${userId} order by created_ts, provider, subject`;
      return rows.map((row) => ({ provider: row.provider, subject: row.subject }));
    },

    async linkIdentity(identity: ExternalIdentity, userId: UserId, nowMs: number): Promise<boolean> {
      const linked = await sql`
        insert into sso_identities (provider, subject, user_id, created_ts)
        values (${identity.provider}, ${identity.subject}, ${userId}, ${nowMs})
        on conflict (provider, subject) do nothing`;
      return linked.count === 1;
    },

    async addSignIn(stateHash: string, signIn: SsoSignIn, nowMs: number): Promise<void> {
      await sql`
        insert into sso_sign_ins (state_hash, provider, redirect_url, uia_session, code_verifier, created_ts)
        values (${stateHash}, ${signIn.provider}, ${signIn.redirectUrl ?? null}, ${signIn.uiaSession ?? null}, ${signIn.codeVerifier}, ${nowMs})`;
    },

    async takeSignIn(stateHash: string, sinceMs: number): Promise<SsoSignIn | undefined> {
      const [row] = await sql<
        { provider: string; redirect_url: string | null; uia_session: string | null; code_verifier: string | null; created_ts: number }[]
      >`
        delete from sso_sign_ins where state_hash = ${stateHash}
        returning provider, redirect_url, uia_session, code_verifier, created_ts`;
      if (row === undefined || row.created_ts < sinceMs) return undefined;
      const common = { provider: row.provider, codeVerifier: row.code_verifier };
      return row.redirect_url !== null ? { ...common, redirectUrl: row.redirect_url } : { ...common, uiaSession: row.uia_session as string };
    },

    async deleteSignInsBefore(beforeMs: number): Promise<void> {
      await sql`delete from sso_sign_ins where created_ts < ${beforeMs}`;
    },
  };
}
