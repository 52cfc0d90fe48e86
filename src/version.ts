// The version printed by --version and written into every report. Kept in step with
// package.json by a test (test/cli/version.test.ts).
export const VERSION = '0.1.0';
