import { getRoomVersion, type PduJson, type RoomVersionRules } from '../../src/events/index.js';

/** A room version's rules, failing the test loudly if the version is unknown. */
export function rules(version: string): RoomVersionRules {
  const found = getRoomVersion(version);
  if (found === undefined) throw new Error(`room version ${version} missing`);
  return found;
}

/** A fixture's JSON text as a PDU, parsed the way a received event would be. */
export const parse = (json: string): PduJson => JSON.parse(json) as PduJson;
