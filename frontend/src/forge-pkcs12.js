// The part of node-forge that docflow's browser signing needs to open a PKCS#12
// file (RFC 7292): ASN.1, the PKCS#12 and PBES2 (RFC 8018) key derivations and
// ciphers (AES, 3DES, RC2-40 of the legacy Windows exports), HMAC and the SHA
// family for the integrity MAC. Signing itself is WebCrypto's: forge's RSA is
// left out (see build.mjs).
module.exports = require('node-forge/lib/forge');
require('node-forge/lib/asn1');
require('node-forge/lib/oids');
require('node-forge/lib/util');
// pbe.js reads forge.jsbn.BigInteger when it loads (build.mjs drops rsa.js, which
// would have loaded it).
require('node-forge/lib/jsbn');
require('node-forge/lib/pbe');
require('node-forge/lib/pbkdf2');
require('node-forge/lib/hmac');
require('node-forge/lib/sha1');
require('node-forge/lib/sha256');
require('node-forge/lib/sha512');
require('node-forge/lib/aes');
require('node-forge/lib/des');
require('node-forge/lib/rc2');
