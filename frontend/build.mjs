// Builds docflow/static/vendor/node-forge/ from the pinned node-forge:
// a minified IIFE of only the modules that open a PKCS#12 file (src/forge-pkcs12.js),
// exposing the global `forge`, plus the library's LICENSE. Deterministic: the same
// package-lock.json gives the same bytes, and the output is committed, so running
// the cabinet never needs npm.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const forgeDir = dirname(require.resolve('node-forge/package.json'));
const { version, license } = JSON.parse(readFileSync(join(forgeDir, 'package.json'), 'utf8'));
const outDir = join(here, '..', 'docflow', 'static', 'vendor', 'node-forge');
const outFile = join(outDir, 'forge-pkcs12.min.js');

// pbe.js requires rsa.js (for its PEM helpers of RSA keys, which docflow never calls):
// swapping it for an empty module drops forge's RSA, big integers and prime search
// (about 40 kB). Signing is WebCrypto's.
const dropForgeRsa = {
  name: 'drop-forge-rsa',
  setup(b) {
    b.onResolve({ filter: /^\.\/rsa$/ }, (args) =>
      args.importer.startsWith(join(forgeDir, 'lib'))
        ? { path: 'forge-rsa-stub', namespace: 'stub' }
        : undefined);
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: '', loader: 'js' }));
  },
};

mkdirSync(outDir, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'forge-pkcs12.js')],
  outfile: outFile,
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'forge',
  platform: 'browser',
  target: ['es2017'],
  legalComments: 'none',
  plugins: [dropForgeRsa],
  banner: {
    js: `/*! node-forge ${version} (subset: PKCS#12 opening) | (c) Digital Bazaar, Inc. | ` +
      `${license} (see LICENSE) | built by docflow frontend/build.mjs */`,
  },
  logLevel: 'warning',
});
copyFileSync(join(forgeDir, 'LICENSE'), join(outDir, 'LICENSE'));
console.log(`node-forge ${version} -> ${outFile} (${statSync(outFile).size} bytes)`);
