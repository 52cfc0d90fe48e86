// Zeek's conn_state, derived at flow end by one pure function (conventions.md rule 6).
//
// The inputs are Zeek's per-endpoint TCP states (TCP_ENDPOINT_*, kept by the flow table's
// state machine, see table.ts), the payload sizes and the history string. The rules mirror
// `conn_state()` in Zeek's scripts/base/protocols/conn/main.zeek:
//
//   TCP  responder RESET:   REJ when the originator only sent a SYN (or SYN-ACK), or both
//                           reset with no payload; RSTRH when the originator was inactive
//                           (no SYN seen); else RSTR.
//        originator RESET:  responder inactive -> RSTOS0 when history is ^?S[^HAFGIQ]*R.*
//                           (SYN then RST, no SYN-ACK), else OTH; responder active -> RSTO.
//        both CLOSED -> SF; originator CLOSED -> SH (responder inactive) or S2;
//        responder CLOSED -> SHR (originator inactive) or S3;
//        originator SYN_SENT and responder INACTIVE -> S0; both ESTABLISHED -> S1; else OTH.
//   UDP  SF both sides sent, S0 only the originator, SHR only the responder, else OTH.
//   ICMP always OTH (as Zeek).

import type { ConnState } from './types.js';

// Endpoint states, numbered as Zeek's TCP_ENDPOINT_* enum.
export const TCP_INACTIVE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_ACK_SENT = 2;
export const TCP_PARTIAL = 3;
export const TCP_ESTABLISHED = 4;
export const TCP_CLOSED = 5;
export const TCP_RESET = 6;

export type TcpEndpointState = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export interface ConnStateInput {
  proto: 'tcp' | 'udp' | 'icmp';
  /** TCP: TCP_* endpoint state. UDP: 1 when the endpoint sent anything, else 0. */
  origState: number;
  respState: number;
  /** payload bytes each side sent (Zeek's orig$size / resp$size) */
  origSize: number;
  respSize: number;
  history: string;
}

const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

/** All 13 states, in the order of Zeek's documentation (used for stable stats output). */
export const CONN_STATES: readonly ConnState[] = Object.freeze([
  'S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH',
] as ConnState[]);

export function connState(c: ConnStateInput): ConnState {
  const os = c.origState;
  const rs = c.respState;
  if (c.proto === 'udp') {
    if (os !== 0) return rs !== 0 ? 'SF' : 'S0';
    return rs !== 0 ? 'SHR' : 'OTH';
  }
  if (c.proto !== 'tcp') return 'OTH';

  const oInactive = os === TCP_INACTIVE || os === TCP_PARTIAL;
  const rInactive = rs === TCP_INACTIVE || rs === TCP_PARTIAL;
  if (rs === TCP_RESET) {
    if (os === TCP_SYN_SENT || os === TCP_SYN_ACK_SENT ||
        (os === TCP_RESET && c.origSize === 0 && c.respSize === 0)) return 'REJ';
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === TCP_RESET) {
    if (rInactive) return RSTOS0_HISTORY.test(c.history) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === TCP_CLOSED && os === TCP_CLOSED) return 'SF';
  if (os === TCP_CLOSED) return rInactive ? 'SH' : 'S2';
  if (rs === TCP_CLOSED) return oInactive ? 'SHR' : 'S3';
  if (os === TCP_SYN_SENT && rs === TCP_INACTIVE) return 'S0';
  if (os === TCP_ESTABLISHED && rs === TCP_ESTABLISHED) return 'S1';
  return 'OTH';
}
