// Test-only certificates (throw-away keys made with openssl for these tests; they protect
// nothing): a CA "GoTo Test CA" and a leaf for egw.gotomeeting.com signed by it, EC P-256.
//
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
//     -subj "/C=US/O=GoTo Test/CN=GoTo Test CA" -days 36500 ...
//   openssl x509 -req ... -extfile <(echo subjectAltName=DNS:egw.gotomeeting.com,DNS:*.gotomeeting.com)

export const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBxzCCAW2gAwIBAgIUTXCUDo8Ryu93Amq6lF2bjQ99TR4wCgYIKoZIzj0EAwIw
ODELMAkGA1UEBhMCVVMxEjAQBgNVBAoMCUdvVG8gVGVzdDEVMBMGA1UEAwwMR29U
byBUZXN0IENBMCAXDTI2MTEyMTE0MzU0N1oYDzIxMjYxMDI4MTQzNTQ3WjA4MQsw
CQYDVQQGEwJVUzESMBAGA1UECgwJR29UbyBUZXN0MRUwEwYDVQQDDAxHb1RvIFRl
c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQWqA2Obx6PNVt8w/4JaKXn
VkwrVspNQbQefuU+xa7JWLFkwdMd69SfTGSKw8O/kPE744OeOPWOs0psW6A34bIO
o1MwUTAdBgNVHQ4EFgQUlscuEdJXOLwWBpUUYP17lZBgxMIwHwYDVR0jBBgwFoAU
lscuEdJXOLwWBpUUYP17lZBgxMIwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNIADBFAiA4IG8V+7ios+uR/S8Dxg/CaioKpEPUCL6fIvczKe+TBgIhAMlbqT76
Xs4svS01CCv+wtEDCoye/JmgusN16M4WTpdH
-----END CERTIFICATE-----
`;

export const LEAF_PEM = `-----BEGIN CERTIFICATE-----
MIIB4jCCAYmgAwIBAgIUAKcsbHEcM6MV2UNNhlKL0h4RLjYwCgYIKoZIzj0EAwIw
ODELMAkGA1UEBhMCVVMxEjAQBgNVBAoMCUdvVG8gVGVzdDEVMBMGA1UEAwwMR29U
byBUZXN0IENBMCAXDTI2MTEyMTE0MzU0N1oYDzIxMjYxMDI4MTQzNTQ3WjAyMRIw
EAYDVQQKDAlHb1RvIFRlc3QxHDAaBgNVBAMME2Vndy5nb3RvbWVldGluZy5jb20w
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAR2Hh+JsyD3Nuphuy8P3jMcAHwC0QVC
1bSSyZgRPRF6ZGYrNMY/1ODYrLkJySfK9qFusNHklQzmuT7tHf0Vx1mco3UwczAx
BgNVHREEKjAoghNlZ3cuZ290b21lZXRpbmcuY29tghEqLmdvdG9tZWV0aW5nLmNv
bTAdBgNVHQ4EFgQUfyqpYEHfWY2+5mmdcMEBoTXrYRowHwYDVR0jBBgwFoAUlscu
EdJXOLwWBpUUYP17lZBgxMIwCgYIKoZIzj0EAwIDRwAwRAIgaavxpfkuStQ8zXHi
oqEVekqYReEoZc6oahmQx+RmNmoCIEY9zJTvk8o/YV6jKFQsRE1eDMqpTKtymVcB
cl1QUi56
-----END CERTIFICATE-----
`;

export const LEAF_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguPA3QC6y1WTNiSxn
ms2hAUM0mt3Ez1ls6rRXgpzcGk+hRANCAAR2Hh+JsyD3Nuphuy8P3jMcAHwC0QVC
1bSSyZgRPRF6ZGYrNMY/1ODYrLkJySfK9qFusNHklQzmuT7tHf0Vx1mc
-----END PRIVATE KEY-----
`;

export function pemToDer(pem: string): Buffer {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(b64, 'base64');
}

/** strip `#` comments and whitespace from annotated hex */
export function hex(annotated: string): Buffer {
  return Buffer.from(annotated.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

export function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

export function u16(n: number): Buffer {
  return Buffer.from([(n >> 8) & 0xff, n & 0xff]);
}

/** handshake message: type(1) length(3) body */
export function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), u24(body.length), body]);
}

/** record: type(1) version(2) length(2) fragment */
export function record(type: number, fragment: Buffer, version = 0x0303): Buffer {
  return Buffer.concat([Buffer.from([type]), u16(version), u16(fragment.length), fragment]);
}

/** ServerHello body for TLS 1.2 (no extensions) or with supported_versions selecting `selected` */
export function serverHelloBody(selected?: number): Buffer {
  const parts = [u16(0x0303), Buffer.alloc(32, 0x5a), Buffer.from([0]), u16(0xc02f), Buffer.from([0])];
  if (selected !== undefined) parts.push(u16(6), u16(43), u16(2), u16(selected));
  return Buffer.concat(parts);
}

export function certificateBody(ders: Buffer[]): Buffer {
  const entries = Buffer.concat(ders.map((d) => Buffer.concat([u24(d.length), d])));
  return Buffer.concat([u24(entries.length), entries]);
}

// A transparent proxy's minted certificate for the same name, issued by its own CA
// ("Cisco WSA Lab CA", O=Lab, OU=Web Security), as a WSA decrypting HTTPS presents it.
export const WSA_LEAF_PEM = `-----BEGIN CERTIFICATE-----
MIIB1zCCAX2gAwIBAgIUBUV/LPUiShUDUHQN/e7/eDio+w0wCgYIKoZIzj0EAwIw
QDEMMAoGA1UECgwDTGFiMRUwEwYDVQQLDAxXZWIgU2VjdXJpdHkxGTAXBgNVBAMM
EENpc2NvIFdTQSBMYWIgQ0EwIBcNMjYxMTIxMTQ0MjUwWhgPMjEyNjEwMjgxNDQy
NTBaMB4xHDAaBgNVBAMME2Vndy5nb3RvbWVldGluZy5jb20wWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAATCYsFKT7N9VWlN7XK16vuTAiujQy3hXgaiEeW7XqyZVnH5
ZiG9fbGLoYPkasAHjulq4GgijW2JwIMWYsw0PO9ao3UwczAxBgNVHREEKjAoghNl
Z3cuZ290b21lZXRpbmcuY29tghEqLmdvdG9tZWV0aW5nLmNvbTAdBgNVHQ4EFgQU
lmCAEvAkyG09FeZSm/FUigVYyXYwHwYDVR0jBBgwFoAUPo+BRYgsGF5Lh8FZWg+N
wZCM8O4wCgYIKoZIzj0EAwIDSAAwRQIgD7qRY2ixNjRuJpID9BkuicAMtw1Smq4y
qMJ4m+eSQAUCIQCCsZzLvj+YfFXbNoGtlkvWxfuPfiYl1b6g4DNXyDiDIw==
-----END CERTIFICATE-----
`;

export const WSA_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIB1zCCAX2gAwIBAgIUZnydXeyA31yNVWewV3FiLHeycjYwCgYIKoZIzj0EAwIw
QDEMMAoGA1UECgwDTGFiMRUwEwYDVQQLDAxXZWIgU2VjdXJpdHkxGTAXBgNVBAMM
EENpc2NvIFdTQSBMYWIgQ0EwIBcNMjYxMTIxMTQ0MjUwWhgPMjEyNjEwMjgxNDQy
NTBaMEAxDDAKBgNVBAoMA0xhYjEVMBMGA1UECwwMV2ViIFNlY3VyaXR5MRkwFwYD
VQQDDBBDaXNjbyBXU0EgTGFiIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
8NTmPRaTQiCDPCHoWHt1/ZDVedpScEK4Vl/TuT7qYaLz1HxAU0LVtD4f7hRgejPQ
YJtoW7qzV62zlXkbKgTdAKNTMFEwHQYDVR0OBBYEFD6PgUWILBheS4fBWVoPjcGQ
jPDuMB8GA1UdIwQYMBaAFD6PgUWILBheS4fBWVoPjcGQjPDuMA8GA1UdEwEB/wQF
MAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgfMD+KHsjgWXAsgQVMt12X1hs2KdlED2E
zEK7XkwhyqsCIQCy//n4mcjIu4OtTGKgGuSI4aRo5rZ+VTsaUyKVaup/MQ==
-----END CERTIFICATE-----
`;

/** A TLS 1.2 server flight: ServerHello, Certificate(chain), ServerHelloDone, in one record. */
export function serverFlight12(chain: Buffer[]): Buffer {
  return record(22, Buffer.concat([
    handshake(2, serverHelloBody()), handshake(11, certificateBody(chain)), handshake(14, Buffer.alloc(0)),
  ]));
}

/** A minimal ClientHello record with a server_name extension. */
export function clientHello(sni: string): Buffer {
  const name = Buffer.from(sni, 'latin1');
  const sniExt = Buffer.concat([u16(0), u16(name.length + 5), u16(name.length + 3), Buffer.from([0]), u16(name.length), name]);
  const exts = Buffer.concat([sniExt]);
  const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 0x11), Buffer.from([0]), u16(2), u16(0xc02f),
    Buffer.from([1, 0]), u16(exts.length), exts]);
  return record(22, handshake(1, body), 0x0301);
}
