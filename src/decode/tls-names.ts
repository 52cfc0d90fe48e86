// Code -> name tables for TLS (RFC 8446 §B, RFC 5246 §A, RFC 8447 registries). Lossless:
// unknown codes become 'UNKNOWN_<n>' (conventions.md rule 3).

export const TLS_CONTENT_TYPES: Readonly<Record<number, string>> = {
  20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data', 24: 'heartbeat',
};

export const TLS_HANDSHAKE_TYPES: Readonly<Record<number, string>> = {
  0: 'hello_request', 1: 'client_hello', 2: 'server_hello', 4: 'new_session_ticket',
  5: 'end_of_early_data', 8: 'encrypted_extensions', 11: 'certificate', 12: 'server_key_exchange',
  13: 'certificate_request', 14: 'server_hello_done', 15: 'certificate_verify',
  16: 'client_key_exchange', 20: 'finished', 22: 'certificate_status', 24: 'key_update',
};

export const TLS_ALERTS: Readonly<Record<number, string>> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed',
  22: 'record_overflow', 30: 'decompression_failure', 40: 'handshake_failure', 41: 'no_certificate',
  42: 'bad_certificate', 43: 'unsupported_certificate', 44: 'certificate_revoked',
  45: 'certificate_expired', 46: 'certificate_unknown', 47: 'illegal_parameter', 48: 'unknown_ca',
  49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error', 60: 'export_restriction',
  70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error',
  86: 'inappropriate_fallback', 90: 'user_canceled', 100: 'no_renegotiation',
  109: 'missing_extension', 110: 'unsupported_extension', 111: 'certificate_unobtainable',
  112: 'unrecognized_name', 113: 'bad_certificate_status_response', 114: 'bad_certificate_hash_value',
  115: 'unknown_psk_identity', 116: 'certificate_required', 120: 'no_application_protocol',
};

export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0300: return 'SSL 3.0';
    case 0x0301: return 'TLS 1.0';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
    default: return 'UNKNOWN_0x' + v.toString(16).padStart(4, '0');
  }
}

export function tlsAlertName(d: number): string {
  return TLS_ALERTS[d] ?? 'UNKNOWN_' + d;
}

export function tlsHandshakeName(t: number): string {
  return TLS_HANDSHAKE_TYPES[t] ?? 'UNKNOWN_' + t;
}
