// The worker for the one algorithm the server issues (docflow/accounts/captcha.py),
// loaded from this origin as a file, which the CSP allows (worker-src falls back
// to script-src 'self').
const pbkdf2 = new URL("../vendor/altcha/workers/pbkdf2.js", import.meta.url);
globalThis.$altcha.algorithms.set("PBKDF2/SHA-256", () => new Worker(pbkdf2));
