import type { FastifyInstance } from 'fastify';
import { getPushers, postPusher } from '../../protocol/endpoints/pushers.js';
import type { PusherRecord, PusherService } from '../../push/index.js';
import { deviceOf } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** The spec's pusher object; profile_tag only when one was given. */
function pusherJson(pusher: PusherRecord) {
  return {
    pushkey: pusher.pushkey,
    kind: pusher.kind,
    app_id: pusher.appId,
    app_display_name: pusher.appDisplayName,
    device_display_name: pusher.deviceDisplayName,
    ...(pusher.profileTag === null ? {} : { profile_tag: pusher.profileTag }),
    lang: pusher.lang,
    data: { ...pusher.data },
  };
}

/** GET /pushers and POST /pushers/set: each handler unpacks, calls the pusher service, shapes. */
export function pusherRoutes(pushers: PusherService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getPushers, async ({ requester }) => ({ pushers: (await pushers.list(requester.userId)).map(pusherJson) }));

    route(app, postPusher, async ({ requester, body }) => {
      await pushers.set({ userId: requester.userId, deviceId: deviceOf(requester) }, {
        kind: body.kind,
        appId: body.app_id,
        pushkey: body.pushkey,
        appDisplayName: body.app_display_name,
        deviceDisplayName: body.device_display_name,
        profileTag: body.profile_tag,
        lang: body.lang,
        data: body.data,
        append: body.append,
      });
      return {};
    });
  };
}
