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
