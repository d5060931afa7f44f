import type { RoomEvent } from '../events/index.js';

/** An event as the Client-Server API serves it (ClientEvent in the spec): no hashes, signatures or graph. */
export interface ClientEvent {
  readonly content: Readonly<Record<string, unknown>>;
  readonly event_id: string;
  readonly origin_server_ts: number;
  readonly room_id: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly type: string;
  /** m.room.redaction's target, top-level as in the event format of room versions 1-10. */
  readonly redacts?: string;
  readonly unsigned: ClientUnsigned;
}

export interface ClientUnsigned {
  /** Milliseconds since the event was sent, by this server's clock when it is served. */
  readonly age?: number;
  readonly transaction_id?: string;
  /** The redaction that redacted this event (served redacted), in the client format. */
  readonly redacted_because?: ClientEvent;
  /** That redaction's event id: not in the spec, but Synapse serves it and clients and sytest read it. */
  readonly redacted_by?: string;
  /** State events: the content of the state event this one replaced (as the viewer may see it). */
  readonly prev_content?: Readonly<Record<string, unknown>>;
  /** State events: the id of the state event this one replaced. */
  readonly replaces_state?: string;
}

export interface ClientEventOptions {
  /** This server's clock now, for unsigned.age. */
  readonly now: number;
  /** The client transaction id, when the event is served to the device that sent it. */
  readonly transactionId?: string;
  /** The redaction applied to the event; the caller passes the event already redacted (src/rooms/redactions.ts). */
  readonly redactedBecause?: ClientEvent;
  /** A state event's predecessor at its type and state key: its id and its content as served. */
  readonly replaces?: { readonly eventId: string; readonly content: Readonly<Record<string, unknown>> };
}

/**
 * The client format of a stored event. The unsigned section is built here, never copied from the PDU:
 * what a remote server put there is not for our clients. Pure: the caller passes the time.
 */
export function toClientEvent(event: RoomEvent, options: ClientEventOptions): ClientEvent {
  const unsigned: ClientUnsigned = {
    age: Math.max(0, options.now - event.originServerTs),
    ...(options.transactionId === undefined ? {} : { transaction_id: options.transactionId }),
    ...(options.redactedBecause === undefined
      ? {}
      : { redacted_because: options.redactedBecause, redacted_by: options.redactedBecause.event_id }),
    ...(options.replaces === undefined ? {} : { prev_content: options.replaces.content, replaces_state: options.replaces.eventId }),
  };
  return {
    content: event.content,
    event_id: event.eventId,
    origin_server_ts: event.originServerTs,
    room_id: event.roomId,
    sender: event.sender,
    ...(event.stateKey === undefined ? {} : { state_key: event.stateKey }),
    type: event.type,
    ...(event.redacts === undefined ? {} : { redacts: event.redacts }),
    unsigned,
  };
}
