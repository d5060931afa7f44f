import { testClient, threeUsers } from './client.js';

export const client = testClient;

export type Client = ReturnType<typeof client>;

export const enc = encodeURIComponent;

export { threeUsers };
