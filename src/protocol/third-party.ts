/**
 * A protocol instance's `instance_id`, which clients send back as /publicRooms' third_party_instance_id:
 * the service's id and the instance's network_id, joined by `|` (the form sytest and bridges written for
 * Synapse expect). Split at the first `|`, so a network id may hold one; a service id must not.
 */
export function thirdPartyInstanceId(appserviceId: string, networkId: string): string {
  return `${appserviceId}|${networkId}`;
}

export function parseThirdPartyInstanceId(value: string): { readonly appserviceId: string; readonly networkId: string } | undefined {
  const bar = value.indexOf('|');
  if (bar <= 0 || bar === value.length - 1) return undefined;
  return { appserviceId: value.slice(0, bar), networkId: value.slice(bar + 1) };
}
