/* docflow — signing in the browser: the private key never leaves the user's computer.
 *
 * The signatory opens a PKCS#12 file (.p12/.pfx) with its password in the page; the
 * key is imported into WebCrypto as a non-extractable CryptoKey and signs the bytes
 * the server prepared (the DER of the CMS signed attributes: RFC 5652 §5.4), in the
 * server's two-phase external-signer flow (ARCHITECTURE.md, "Signing flows"). Neither
 * the file nor the password is ever sent anywhere.
 *
 * PKCS#12 (RFC 7292) is read with a subset of node-forge (ASN.1, the PKCS#12 and PBES2
 * key derivations and ciphers), bundled in ../vendor/node-forge/ and loaded on first
 * use. A plain script, no build step, no inline code: works under
 * `Content-Security-Policy: script-src 'self'`.
 *
 * API: window.DocflowSigning = {openPkcs12, signBytes, signDocument, wireForm,
 * wireAll, cryptoproAvailable, listCryptoproCertificates, cryptoproSignItem,
 * SigningError, MESSAGES}. Where the CryptoPro ЭЦП Browser plug-in answers, a GOST key
 * in it is the other source of a signature (fieldset[data-cryptopro] of the form). Forms marked `form[data-docflow-sign]` are wired
 * on DOMContentLoaded (see frontend/README.md for the markup).
 */
(function () {
  'use strict';

  var SCRIPT = document.currentScript;
  var FORGE_FILE = 'vendor/node-forge/forge-pkcs12.min.js';
  var MAX_KEY_FILE_BYTES = 1024 * 1024;

  var MESSAGES = {
    wrong_password: 'Неверный пароль к файлу ключа',
    not_pkcs12: 'Выбранный файл не является файлом ключа PKCS#12 (.p12 или .pfx). ' +
      'Выберите файл ключа, полученный вместе с сертификатом.',
    too_large: 'Файл слишком большой для файла ключа (.p12 или .pfx): проверьте, тот ли ' +
      'файл выбран.',
    no_private_key: 'В файле нет закрытого ключа: в нём только сертификаты. Выберите ' +
      'файл ключа (.p12 или .pfx), содержащий закрытый ключ.',
    no_certificate: 'В файле ключа нет сертификата, соответствующего ключу.',
    gost: 'Это ключ ГОСТ Р 34.10: браузер не подписывает им сам. Ключи ГОСТ ' +
      'подписываются через КриптоПро ЭЦП Browser plug-in.',
    unsupported_algorithm: 'Алгоритм ключа не поддерживается: в браузере подписываются ' +
      'ключи RSA и ECDSA (P-256, P-384, P-521).',
    unsupported_format: 'Формат защиты файла ключа не поддерживается. Экспортируйте ' +
      'ключ заново в PKCS#12 с шифрованием AES (или 3DES) и паролем.',
    certificate_mismatch: 'Файл ключа не соответствует выбранному сертификату',
    choose_certificate: 'Выберите сертификат для подписи',
    choose_file: 'Выберите файл ключа (.p12 или .pfx)',
    no_fingerprint: 'Для выбранного сертификата не указан отпечаток: обновите страницу ' +
      'или обратитесь в поддержку.',
    no_webcrypto: 'Браузер не даёт странице доступ к криптографии (WebCrypto). Откройте ' +
      'кабинет по защищённому адресу https:// в актуальной версии браузера.',
    key_import: 'Браузер не смог использовать ключ из файла',
    library: 'Не удалось загрузить модуль чтения файла ключа. Обновите страницу.',
    network: 'Нет связи с сервером. Проверьте подключение и попробуйте ещё раз.',
    server: 'Сервер не смог обработать подпись. Попробуйте ещё раз позже.',
    bad_response: 'Сервер вернул неожиданный ответ. Обновите страницу и попробуйте ещё раз.',
    internal: 'Не удалось подписать документ',
    progress_open: 'Открываем файл ключа…',
    progress_sign: 'Подписываем…',
    progress_verify: 'Проверяем подпись на сервере…',
    signed: 'Документ подписан',
    cryptopro: 'КриптоПро ЭЦП Browser plug-in не смог выполнить операцию',
    cryptopro_list: 'Ищем сертификаты в КриптоПро…',
    cryptopro_none: 'В КриптоПро нет сертификата, зарегистрированного в кабинете для этой ' +
      'организации. Зарегистрируйте сертификат в разделе «Сертификаты».',
    cryptopro_choose: 'Выберите сертификат в КриптоПро',
    cryptopro_not_registered: 'Этот сертификат не зарегистрирован в кабинете: выберите ' +
      'зарегистрированный или зарегистрируйте его в разделе «Сертификаты».',
    cryptopro_not_gost: 'Через КриптоПро ЭЦП Browser plug-in подписываются ключи ГОСТ Р ' +
      '34.10-2012; для ключа RSA или ECDSA выберите файл ключа.',
    cryptopro_sign: 'Подписываем в КриптоПро…',
  };

  /** An error with a stable code and a message for the user (Russian). */
  class SigningError extends Error {
    constructor(code, message, details) {
      super(message || MESSAGES[code] || MESSAGES.internal);
      this.name = 'SigningError';
      this.code = code;
      this.details = details || {};
    }
  }

  // --- OIDs ---------------------------------------------------------------------
  var OID = {
    data: '1.2.840.113549.1.7.1',
    signedData: '1.2.840.113549.1.7.2',
    envelopedData: '1.2.840.113549.1.7.3',
    encryptedData: '1.2.840.113549.1.7.6',
    keyBag: '1.2.840.113549.1.12.10.1.1',
    pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
    certBag: '1.2.840.113549.1.12.10.1.3',
    safeContentsBag: '1.2.840.113549.1.12.10.1.6',
    x509Certificate: '1.2.840.113549.1.9.22.1',
    localKeyId: '1.2.840.113549.1.9.21',
    pbes2: '1.2.840.113549.1.5.13',
    pbmac1: '1.2.840.113549.1.5.14',
    pbkdf2: '1.2.840.113549.1.5.12',
    rsaEncryption: '1.2.840.113549.1.1.1',
    rsaPss: '1.2.840.113549.1.1.10',
    ecPublicKey: '1.2.840.10045.2.1',
    basicConstraints: '2.5.29.19',
  };
  var MAC_DIGESTS = {
    '1.3.14.3.2.26': ['sha1', 20],
    '2.16.840.1.101.3.4.2.1': ['sha256', 32],
    '2.16.840.1.101.3.4.2.2': ['sha384', 48],
    '2.16.840.1.101.3.4.2.3': ['sha512', 64],
  };
  var PBKDF2_PRFS = {
    '1.2.840.113549.2.7': 'SHA-1', '1.2.840.113549.2.9': 'SHA-256',
    '1.2.840.113549.2.10': 'SHA-384', '1.2.840.113549.2.11': 'SHA-512',
  };
  // AES-192 is left out: Chromium's WebCrypto has none (forge decrypts it).
  var AES_CBC = { '2.16.840.1.101.3.4.1.2': 128, '2.16.840.1.101.3.4.1.42': 256 };
  var CURVES = {
    '1.2.840.10045.3.1.7': 'P-256',
    '1.3.132.0.34': 'P-384',
    '1.3.132.0.35': 'P-521',
  };
  var NAME_ATTRIBUTES = {
    '2.5.4.3': 'CN', '2.5.4.4': 'SN', '2.5.4.42': 'GN', '2.5.4.10': 'O', '2.5.4.11': 'OU',
    '2.5.4.12': 'T', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.9': 'STREET',
    '1.2.840.113549.1.9.1': 'E',
    // Russian identifiers of qualified certificates (Приказ ФСБ № 795).
    '1.2.643.3.131.1.1': 'INN', '1.2.643.100.4': 'INNLE', '1.2.643.100.1': 'OGRN',
    '1.2.643.100.5': 'OGRNIP', '1.2.643.100.3': 'SNILS',
  };
  // GOST algorithms live under the CryptoPro (1.2.643.2.2) and TC 26 (1.2.643.7.1)
  // arcs; other 1.2.643 OIDs are name attributes and policies of any Russian
  // certificate, RSA ones included.
  function isGostOid(oid) {
    return oid.indexOf('1.2.643.2.2.') === 0 || oid.indexOf('1.2.643.7.1.') === 0;
  }
  var HASHES = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };
  var RSA_SCHEMES = { pkcs1: 'RSASSA-PKCS1-v1_5', pss: 'RSA-PSS' };

  // --- the library, loaded on first use -----------------------------------------
  var forgePromise = null;

  function forgeUrl() {
    var explicit = SCRIPT && SCRIPT.getAttribute('data-forge-src');
    if (explicit) return explicit;
    if (SCRIPT && SCRIPT.src) return new URL('../' + FORGE_FILE, SCRIPT.src).href;
    return '/static/' + FORGE_FILE;
  }

  function hasForge() {
    var f = window.forge;
    return Boolean(f && f.asn1 && f.pki && f.pki.pbe && f.hmac && f.util);
  }

  function loadForge() {
    if (hasForge()) return Promise.resolve(window.forge);
    if (!forgePromise) {
      forgePromise = new Promise(function (resolve, reject) {
        var script = document.createElement('script');
        script.src = forgeUrl();
        script.async = true;
        script.onload = function () {
          if (hasForge()) resolve(window.forge);
          else reject(new SigningError('library'));
        };
        script.onerror = function () {
          forgePromise = null;
          reject(new SigningError('library'));
        };
        document.head.appendChild(script);
      });
    }
    return forgePromise;
  }

  // --- bytes ----------------------------------------------------------------------
  function toUint8(data) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    throw new TypeError('expected a Uint8Array or an ArrayBuffer');
  }

  function bytesToBinary(bytes) {
    var out = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      out.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    }
    return out.join('');
  }

  function binaryToBytes(bin) {
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i) & 0xff;
    return out;
  }

  function toBase64(bytes) { return btoa(bytesToBinary(toUint8(bytes))); }

  function fromBase64(text) {
    try {
      return binaryToBytes(atob(String(text)));
    } catch (e) {
      throw new SigningError('bad_response', null, { reason: 'base64' });
    }
  }

  function toHex(bytes) {
    var hex = '';
    for (var i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return hex.toUpperCase();
  }

  function normalizeFingerprint(text) {
    return String(text || '').replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  }

  function subtle() {
    var c = window.crypto;
    if (!c || !c.subtle || !window.isSecureContext) throw new SigningError('no_webcrypto');
    return c.subtle;
  }

  // --- ASN.1 helpers over forge's tree ---------------------------------------------
  var asn1; // forge.asn1, set by openPkcs12

  function notPkcs12(reason) { return new SigningError('not_pkcs12', null, { reason: reason }); }

  function expect(node, tagClass, type, reason) {
    if (!node || node.tagClass !== tagClass || node.type !== type) throw notPkcs12(reason);
    return node;
  }
  function seq(node, reason) { return expect(node, asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, reason); }
  function oidOf(node, reason) {
    return asn1.derToOid(expect(node, asn1.Class.UNIVERSAL, asn1.Type.OID, reason).value);
  }
  function explicit0(node, reason) {
    expect(node, asn1.Class.CONTEXT_SPECIFIC, 0, reason);
    if (!node.constructed || node.value.length !== 1) throw notPkcs12(reason);
    return node.value[0];
  }
  // An OCTET STRING's bytes, BER chunks (a constructed OCTET STRING) joined.
  function octets(node, reason) {
    if (!node || node.tagClass !== asn1.Class.UNIVERSAL || node.type !== asn1.Type.OCTETSTRING) {
      throw notPkcs12(reason);
    }
    return implicitOctets(node, reason);
  }
  function implicitOctets(node, reason) {
    if (!node.constructed) return node.value;
    return node.value.map(function (chunk) { return octets(chunk, reason); }).join('');
  }
  function intOf(node, reason) {
    var bytes = expect(node, asn1.Class.UNIVERSAL, asn1.Type.INTEGER, reason).value;
    return parseInt(window.forge.util.bytesToHex(bytes) || '0', 16);
  }
  function parse(bin, reason, bitStrings) {
    try {
      return asn1.fromDer(bin, { strict: true, parseAllBytes: true, decodeBitStrings: Boolean(bitStrings) });
    } catch (e) {
      throw notPkcs12(reason);
    }
  }
  function eachOid(node, fn) {
    if (!node) return;
    if (node.tagClass === asn1.Class.UNIVERSAL && node.type === asn1.Type.OID && !node.constructed) {
      fn(asn1.derToOid(node.value));
    } else if (node.constructed && Array.isArray(node.value)) {
      node.value.forEach(function (child) { eachOid(child, fn); });
    }
  }
  function refuseGost(node) {
    eachOid(node, function (oid) {
      if (isGostOid(oid)) throw new SigningError('gost', null, { oid: oid });
    });
  }

  // --- PKCS#12 ----------------------------------------------------------------------
  // The password as each scheme wants it: the PKCS#12 KDF (MAC, legacy PBE) takes
  // the BMPString (RFC 7292 B.1; forge's KDF reads UTF-16 code units), PBKDF2 (PBES2,
  // RFC 8018) takes octets, UTF-8 as OpenSSL and Windows write them. Forge would use
  // one JS string for both, which is right only for ASCII passwords.
  function passwordsFor(encOid, password) {
    var utf8 = window.forge.util.encodeUtf8(password);
    var list = encOid === OID.pbes2 ? [utf8, password] : [password, utf8];
    return list[0] === list[1] ? [list[0]] : list;
  }

  function verifyMac(forge, macData, authSafeBin, password) {
    seq(macData, 'macData');
    var digestInfo = seq(macData.value[0], 'mac');
    var algOid = oidOf(seq(digestInfo.value[0], 'mac algorithm').value[0], 'mac algorithm');
    if (isGostOid(algOid)) throw new SigningError('gost', null, { oid: algOid });
    var digest = MAC_DIGESTS[algOid];
    if (!digest) {
      // PBMAC1 (RFC 9579) or an unknown hash.
      throw new SigningError('unsupported_format', null, { macAlgorithm: algOid });
    }
    var expected = octets(digestInfo.value[1], 'mac digest');
    var salt = octets(macData.value[1], 'mac salt');
    var iterations = macData.value[2] ? intOf(macData.value[2], 'mac iterations') : 1;
    if (!(iterations >= 1)) throw notPkcs12('mac iterations');
    // An empty password is written either as an empty BMPString or as no bytes at
    // all: try both (OpenSSL does the same).
    var candidates = password === '' ? ['', null] : [password];
    for (var i = 0; i < candidates.length; i++) {
      var md = forge.md[digest[0]].create();
      var key = forge.pki.pbe.generatePkcs12Key(
        candidates[i], forge.util.createBuffer(salt), 3, iterations, digest[1], md);
      var hmac = forge.hmac.create();
      hmac.start(digest[0], key);
      hmac.update(authSafeBin);
      if (hmac.digest().getBytes() === expected) return true;
    }
    throw new SigningError('wrong_password');
  }

  // PBES2-params with PBKDF2 and AES-CBC in a form WebCrypto takes, or null.
  function pbes2Params(algorithm) {
    if (oidOf(algorithm.value[0], 'pbe') !== OID.pbes2) return null;
    var params = seq(algorithm.value[1], 'PBES2-params');
    var kdf = seq(params.value[0], 'keyDerivationFunc');
    var scheme = seq(params.value[1], 'encryptionScheme');
    if (oidOf(kdf.value[0], 'kdf') !== OID.pbkdf2) return null;
    var kdfParams = seq(kdf.value[1], 'PBKDF2-params').value;
    var prf = 'SHA-1'; // the default PRF, hmacWithSHA1
    kdfParams.slice(2).forEach(function (node) { // [keyLength INTEGER], [prf AlgorithmIdentifier]
      if (node.type === asn1.Type.SEQUENCE) prf = PBKDF2_PRFS[oidOf(node.value[0], 'prf')] || null;
    });
    var result = {
      salt: octets(kdfParams[0], 'salt'),
      iterations: intOf(kdfParams[1], 'iterationCount'),
      prf: prf,
      aesBits: AES_CBC[oidOf(scheme.value[0], 'encryptionScheme')],
      iv: octets(scheme.value[1], 'iv'),
    };
    return result.prf && result.aesBits && result.iterations >= 1 ? result : null;
  }

  // PBES2 with PBKDF2 and AES-CBC (RFC 8018 §6.2, what OpenSSL 3, cryptography and
  // Windows write today) is done by WebCrypto: native PBKDF2 is many times faster
  // than JavaScript at the 10⁴–10⁶ iterations of current files. Returns null when
  // WebCrypto cannot do the scheme (AES-192, 3DES, SHA-224…): forge does it then.
  async function pbes2WithWebCrypto(algorithm, ciphertext, password) {
    var p;
    try {
      p = pbes2Params(algorithm);
    } catch (e) {
      p = null; // forge will report what it makes of it
    }
    if (!p) return null;
    var s = subtle();
    var base = await s.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveKey']);
    var key = await s.deriveKey(
      { name: 'PBKDF2', salt: binaryToBytes(p.salt), iterations: p.iterations, hash: p.prf },
      base, { name: 'AES-CBC', length: p.aesBits }, false, ['decrypt']);
    try {
      var plain = await s.decrypt({ name: 'AES-CBC', iv: binaryToBytes(p.iv) }, key, binaryToBytes(ciphertext));
      return { plain: bytesToBinary(new Uint8Array(plain)) };
    } catch (e) {
      return { plain: null }; // bad padding: a wrong password
    }
  }

  function forgeDecrypt(forge, algorithm, ciphertext, password) {
    var encOid = oidOf(algorithm.value[0], 'encryption algorithm');
    var cipher;
    try {
      cipher = forge.pki.pbe.getCipher(encOid, algorithm.value[1], password);
    } catch (e) {
      throw new SigningError('unsupported_format', null, { encryption: encOid, reason: e.message });
    }
    cipher.update(forge.util.createBuffer(ciphertext));
    return cipher.finish() ? cipher.output.getBytes() : null;
  }

  // Decrypts and parses a PKCS#12 block; a wrong password shows as a bad padding or
  // as garbage that is no DER.
  async function decryptAndParse(forge, algorithm, ciphertext, password, macVerified, what) {
    refuseGost(algorithm);
    var encOid = oidOf(algorithm.value[0], 'encryption algorithm');
    var plains = [];
    var native = await pbes2WithWebCrypto(algorithm, ciphertext, password);
    if (native) {
      plains.push(native.plain);
    } else {
      passwordsFor(encOid, password).forEach(function (pw) {
        plains.push(forgeDecrypt(forge, algorithm, ciphertext, pw));
      });
    }
    for (var i = 0; i < plains.length; i++) {
      if (plains[i] === null) continue;
      try {
        return parse(plains[i], what);
      } catch (e) { /* a wrong key with a valid-looking padding */ }
    }
    throw new SigningError(macVerified ? 'unsupported_format' : 'wrong_password', null, { encryption: encOid });
  }

  function decryptEncryptedData(forge, encryptedData, password, macVerified) {
    // EncryptedData ::= SEQUENCE { version, EncryptedContentInfo } (RFC 5652 §8)
    var eci = seq(seq(encryptedData, 'EncryptedData').value[1], 'EncryptedContentInfo');
    var algorithm = seq(eci.value[1], 'contentEncryptionAlgorithm');
    var content = eci.value[2];
    if (!content || content.tagClass !== asn1.Class.CONTEXT_SPECIFIC || content.type !== 0) {
      throw notPkcs12('encryptedContent');
    }
    var ciphertext = implicitOctets(content, 'encryptedContent');
    return decryptAndParse(forge, algorithm, ciphertext, password, macVerified, 'SafeContents');
  }

  function decryptShroudedKey(forge, epki, password, macVerified) {
    // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData } (RFC 5958)
    seq(epki, 'EncryptedPrivateKeyInfo');
    var algorithm = seq(epki.value[0], 'key encryption algorithm');
    var ciphertext = octets(epki.value[1], 'encryptedData');
    return decryptAndParse(forge, algorithm, ciphertext, password, macVerified, 'PrivateKeyInfo');
  }

  async function readBags(forge, safeContents, password, macVerified, found, depth) {
    var bags = seq(safeContents, 'SafeContents').value;
    for (var b = 0; b < bags.length; b++) {
      var safeBag = seq(bags[b], 'SafeBag');
      var bagId = oidOf(safeBag.value[0], 'bagId');
      var value = explicit0(safeBag.value[1], 'bagValue');
      var localKeyId = null;
      var attrs = safeBag.value[2];
      if (attrs && attrs.constructed) {
        attrs.value.forEach(function (attr) {
          var type = attr.value && attr.value[0];
          if (type && type.type === asn1.Type.OID && asn1.derToOid(type.value) === OID.localKeyId &&
              attr.value[1] && attr.value[1].constructed && attr.value[1].value[0]) {
            localKeyId = attr.value[1].value[0].value;
          }
        });
      }
      if (bagId === OID.keyBag || bagId === OID.pkcs8ShroudedKeyBag) {
        var keyInfo = bagId === OID.keyBag ? value : await decryptShroudedKey(forge, value, password, macVerified);
        refuseGost(keyInfo);
        found.keys.push({ der: asn1.toDer(keyInfo).getBytes(), localKeyId: localKeyId });
      } else if (bagId === OID.certBag) {
        var certBag = seq(value, 'CertBag');
        if (oidOf(certBag.value[0], 'certId') === OID.x509Certificate) {
          found.certs.push({ der: octets(explicit0(certBag.value[1], 'certValue'), 'certValue'), localKeyId: localKeyId });
        }
      } else if (bagId === OID.safeContentsBag && depth < 4) {
        await readBags(forge, value, password, macVerified, found, depth + 1);
      }
      // CRL and secret bags carry nothing for signing.
    }
  }

  async function readPfx(forge, bytes, password) {
    asn1 = forge.asn1;
    var pfx = seq(parse(bytesToBinary(bytes), 'PFX'), 'PFX');
    if (pfx.value.length < 2 || intOf(pfx.value[0], 'version') !== 3) throw notPkcs12('version');
    refuseGost(pfx);
    var authSafe = seq(pfx.value[1], 'authSafe');
    var contentType = oidOf(authSafe.value[0], 'authSafe contentType');
    if (contentType === OID.signedData) {
      // Public-key integrity mode (RFC 7292 §4): no password MAC; made by no common tool.
      throw new SigningError('unsupported_format', null, { authSafe: contentType });
    }
    if (contentType !== OID.data) throw notPkcs12('authSafe contentType');
    var authSafeBin = octets(explicit0(authSafe.value[1], 'authSafe content'), 'authSafe content');
    var macVerified = false;
    if (pfx.value[2]) macVerified = verifyMac(forge, pfx.value[2], authSafeBin, password);

    var found = { keys: [], certs: [] };
    var contents = seq(parse(authSafeBin, 'AuthenticatedSafe'), 'AuthenticatedSafe');
    refuseGost(contents);
    for (var n = 0; n < contents.value.length; n++) {
      var contentInfo = seq(contents.value[n], 'ContentInfo');
      var type = oidOf(contentInfo.value[0], 'ContentInfo contentType');
      var safeContents;
      if (type === OID.data) {
        safeContents = parse(octets(explicit0(contentInfo.value[1], 'content'), 'content'), 'SafeContents');
      } else if (type === OID.encryptedData) {
        safeContents = await decryptEncryptedData(forge, explicit0(contentInfo.value[1], 'content'), password, macVerified);
      } else {
        throw new SigningError('unsupported_format', null, { contentType: type });
      }
      refuseGost(safeContents);
      await readBags(forge, safeContents, password, macVerified, found, 0);
    }
    return found;
  }

  // --- keys and certificates -----------------------------------------------------------
  function keyAlgorithmOf(pkcs8Bin) {
    var info = seq(parse(pkcs8Bin, 'PrivateKeyInfo'), 'PrivateKeyInfo');
    var algorithm = seq(info.value[1], 'privateKeyAlgorithm');
    var oid = oidOf(algorithm.value[0], 'privateKeyAlgorithm');
    if (isGostOid(oid)) throw new SigningError('gost', null, { oid: oid });
    if (oid === OID.rsaEncryption) return { keyAlgorithm: 'RSA' };
    if (oid === OID.ecPublicKey) {
      var params = algorithm.value[1];
      var curveOid = params && params.type === asn1.Type.OID ? asn1.derToOid(params.value) : null;
      if (curveOid && CURVES[curveOid]) return { keyAlgorithm: 'EC', namedCurve: CURVES[curveOid] };
      throw new SigningError('unsupported_algorithm', null, { oid: oid, curve: curveOid });
    }
    throw new SigningError('unsupported_algorithm', null, { oid: oid });
  }

  function decodeString(node) {
    var v = node.value;
    var T = asn1.Type;
    if (node.type === T.UTF8) {
      try { return window.forge.util.decodeUtf8(v); } catch (e) { return v; }
    }
    if (node.type === T.BMPSTRING) return v; // forge decodes BMPString (UTF-16BE) itself
    if (node.type === 28) { // UniversalString: UTF-32BE
      var s = '';
      for (var i = 0; i + 4 <= v.length; i += 4) {
        s += String.fromCodePoint(((v.charCodeAt(i) << 24) | (v.charCodeAt(i + 1) << 16) |
          (v.charCodeAt(i + 2) << 8) | v.charCodeAt(i + 3)) >>> 0);
      }
      return s;
    }
    return v; // Printable, IA5, Numeric, Teletex (read as Latin-1)
  }

  function readName(name) {
    var out = {};
    seq(name, 'Name').value.forEach(function (rdn) {
      rdn.value.forEach(function (atv) {
        var key = NAME_ATTRIBUTES[asn1.derToOid(atv.value[0].value)];
        if (key && !(key in out)) out[key] = decodeString(atv.value[1]);
      });
    });
    return out;
  }

  function readTime(node) {
    return node.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(node.value)
      : asn1.generalizedTimeToDate(node.value);
  }

  function readCertificate(der) {
    var cert = seq(parse(der, 'Certificate'), 'Certificate');
    var tbs = seq(cert.value[0], 'TBSCertificate').value;
    var i = tbs[0].tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0; // [0] version
    var validity = seq(tbs[i + 3], 'Validity').value;
    var spki = seq(tbs[i + 5], 'SubjectPublicKeyInfo');
    var spkiAlg = seq(spki.value[0], 'spki algorithm');
    var keyOid = oidOf(spkiAlg.value[0], 'spki algorithm');
    var params = spkiAlg.value[1];
    var isCa = false;
    tbs.slice(i + 6).forEach(function (field) {
      if (field.tagClass !== asn1.Class.CONTEXT_SPECIFIC || field.type !== 3) return;
      field.value[0].value.forEach(function (ext) {
        if (asn1.derToOid(ext.value[0].value) !== OID.basicConstraints) return;
        var bc = parse(ext.value[ext.value.length - 1].value, 'basicConstraints');
        isCa = Boolean(bc.value[0] && bc.value[0].type === asn1.Type.BOOLEAN && bc.value[0].value !== '\x00');
      });
    });
    return {
      serialNumberHex: window.forge.util.bytesToHex(tbs[i].value).toUpperCase(),
      issuer: readName(tbs[i + 2]),
      subject: readName(tbs[i + 4]),
      notBefore: readTime(validity[0]),
      notAfter: readTime(validity[1]),
      spkiDer: binaryToBytes(asn1.toDer(spki).getBytes()),
      keyOid: keyOid,
      namedCurve: params && params.type === asn1.Type.OID ? CURVES[asn1.derToOid(params.value)] : undefined,
      isCa: isCa,
    };
  }

  function signParams(keyAlgorithm, scheme, hash) {
    if (keyAlgorithm === 'EC') return { name: 'ECDSA', hash: hash };
    if (scheme === 'pss') return { name: 'RSA-PSS', saltLength: HASHES[hash] }; // RFC 4055 §3.1: salt = hash length
    return { name: 'RSASSA-PKCS1-v1_5' };
  }

  // WebCrypto binds an RSA key to one scheme and one hash at import, and a
  // non-extractable key cannot be re-imported: import every variant signBytes may
  // be asked for now, then forget the PKCS#8 bytes.
  var KEY_VARIANTS = new WeakMap();

  function importPrivateKeys(pkcs8, alg) {
    var s = subtle();
    var jobs = [];
    if (alg.keyAlgorithm === 'EC') {
      jobs.push(['ecdsa', s.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: alg.namedCurve }, false, ['sign'])]);
    } else {
      Object.keys(RSA_SCHEMES).forEach(function (scheme) {
        Object.keys(HASHES).forEach(function (hash) {
          jobs.push([scheme + ':' + hash,
            s.importKey('pkcs8', pkcs8, { name: RSA_SCHEMES[scheme], hash: hash }, false, ['sign'])]);
        });
      });
    }
    return Promise.all(jobs.map(function (j) { return j[1]; })).then(function (keys) {
      var variants = {};
      jobs.forEach(function (j, n) { variants[j[0]] = keys[n]; });
      return variants;
    }, function (e) {
      throw new SigningError('key_import', MESSAGES.key_import + ' (' + (e && e.message || e) + ').');
    });
  }

  // Proof that the private key belongs to a certificate: sign a random challenge and
  // verify it with the certificate's public key.
  function keyMatchesCertificate(defaultKey, alg, cert) {
    var s = subtle();
    var wantedOid = alg.keyAlgorithm === 'EC' ? OID.ecPublicKey : OID.rsaEncryption;
    if (cert.keyOid !== wantedOid || (alg.keyAlgorithm === 'EC' && cert.namedCurve !== alg.namedCurve)) {
      return Promise.resolve(false);
    }
    var params = signParams(alg.keyAlgorithm, 'pkcs1', 'SHA-256');
    var importAlg = alg.keyAlgorithm === 'EC' ? { name: 'ECDSA', namedCurve: alg.namedCurve }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    var challenge = window.crypto.getRandomValues(new Uint8Array(32));
    return Promise.all([
      s.importKey('spki', cert.spkiDer, importAlg, false, ['verify']),
      s.sign(params, defaultKey, challenge),
    ]).then(function (r) {
      return s.verify(params, r[0], r[1], challenge);
    }).catch(function () { return false; });
  }

  function formatDate(date) {
    var dd = String(date.getDate()).padStart(2, '0');
    var mm = String(date.getMonth() + 1).padStart(2, '0');
    return dd + '.' + mm + '.' + date.getFullYear();
  }

  function readFile(fileOrBuffer) {
    if (typeof Blob !== 'undefined' && fileOrBuffer instanceof Blob) {
      if (fileOrBuffer.size > MAX_KEY_FILE_BYTES) return Promise.reject(new SigningError('too_large'));
      return fileOrBuffer.arrayBuffer().then(function (b) { return new Uint8Array(b); });
    }
    return Promise.resolve(toUint8(fileOrBuffer));
  }

  /**
   * Opens a PKCS#12 file and imports its private key into WebCrypto.
   *
   * @param {File|Blob|ArrayBuffer|Uint8Array} fileOrArrayBuffer the .p12/.pfx file
   * @param {string} password its password
   * @returns {Promise<object>} {certificateDer, certificateSha256Hex, subject, issuer,
   *   serialNumberHex, notBefore, notAfter, keyAlgorithm: "RSA"|"EC", namedCurve?,
   *   cryptoKey (non-extractable, usage sign), chain: [Uint8Array], warnings: [string]}
   * @throws {SigningError} codes: wrong_password, not_pkcs12, too_large, no_private_key,
   *   no_certificate, gost, unsupported_algorithm, unsupported_format, no_webcrypto,
   *   key_import, library
   */
  async function openPkcs12(fileOrArrayBuffer, password) {
    subtle();
    var bytes = await readFile(fileOrArrayBuffer);
    if (bytes.length === 0) throw notPkcs12('empty');
    if (bytes.length > MAX_KEY_FILE_BYTES) throw new SigningError('too_large');
    if (bytes[0] !== 0x30) throw notPkcs12('not a SEQUENCE'); // also PEM, text, ZIP, PDF…
    var forge = await loadForge();
    var found;
    try {
      found = await readPfx(forge, bytes, String(password == null ? '' : password));
    } catch (e) {
      if (e instanceof SigningError) throw e;
      throw notPkcs12(e && e.message);
    }
    if (found.keys.length === 0) throw new SigningError('no_private_key');

    var certs = found.certs.map(function (c) {
      var info = readCertificate(c.der);
      info.der = c.der;
      info.localKeyId = c.localKeyId;
      return info;
    });
    for (var k = 0; k < found.keys.length; k++) {
      var key = found.keys[k];
      var alg = keyAlgorithmOf(key.der);
      var pkcs8 = binaryToBytes(key.der);
      var variants;
      try {
        variants = await importPrivateKeys(pkcs8, alg);
      } finally {
        pkcs8.fill(0); // our copy; forge's strings are immutable and just dropped
        key.der = null;
      }
      var defaultKey = variants[alg.keyAlgorithm === 'EC' ? 'ecdsa' : 'pkcs1:SHA-256'];
      // Certificates with the key's localKeyId first, then end-entity ones.
      var ordered = certs.slice().sort(function (a, b) {
        var rank = function (c) { return (c.localKeyId && c.localKeyId === key.localKeyId ? 0 : 2) + (c.isCa ? 1 : 0); };
        return rank(a) - rank(b);
      });
      for (var c = 0; c < ordered.length; c++) {
        if (await keyMatchesCertificate(defaultKey, alg, ordered[c])) {
          return makeKeyInfo(ordered[c], certs, alg, defaultKey, variants);
        }
      }
    }
    throw new SigningError('no_certificate');
  }

  async function makeKeyInfo(cert, certs, alg, defaultKey, variants) {
    var der = binaryToBytes(cert.der);
    var digest = new Uint8Array(await subtle().digest('SHA-256', der));
    var now = new Date();
    var warnings = [];
    if (cert.notAfter < now) {
      warnings.push('Срок действия сертификата истёк ' + formatDate(cert.notAfter) +
        ': подпись таким сертификатом может быть не принята.');
    } else if (cert.notBefore > now) {
      warnings.push('Сертификат начнёт действовать только ' + formatDate(cert.notBefore) + '.');
    }
    var info = {
      certificateDer: der,
      certificateSha256Hex: toHex(digest),
      subject: cert.subject,
      issuer: cert.issuer,
      serialNumberHex: cert.serialNumberHex,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      isExpired: cert.notAfter < now,
      keyAlgorithm: alg.keyAlgorithm,
      cryptoKey: defaultKey,
      chain: certs.filter(function (c) { return c !== cert; }).map(function (c) { return binaryToBytes(c.der); }),
      warnings: warnings,
    };
    if (alg.namedCurve) info.namedCurve = alg.namedCurve;
    KEY_VARIANTS.set(info, variants);
    return info;
  }

  /**
   * Signs bytes with the key of openPkcs12. WebCrypto hashes the data itself: pass
   * the whole DER of the signed attributes, not a digest.
   *
   * @param {object} keyInfo the result of openPkcs12
   * @param {Uint8Array|ArrayBuffer} tbsBytes the bytes to be signed
   * @param {{hash?: string, scheme?: string}} options hash "SHA-256" (default),
   *   "SHA-384" or "SHA-512"; scheme "pkcs1" (RSA default), "pss" or "ecdsa" (EC)
   * @returns {Promise<Uint8Array>} the signature (ECDSA: raw r||s, as WebCrypto gives it)
   */
  async function signBytes(keyInfo, tbsBytes, options) {
    options = options || {};
    var hash = String(options.hash || 'SHA-256').toUpperCase().replace(/^SHA(\d)/, 'SHA-$1');
    if (!HASHES[hash]) throw new SigningError('unsupported_algorithm', 'Хеш-функция не поддерживается: ' + options.hash);
    var isEc = keyInfo.keyAlgorithm === 'EC';
    var scheme = options.scheme || (isEc ? 'ecdsa' : 'pkcs1');
    if (isEc ? scheme !== 'ecdsa' : !RSA_SCHEMES[scheme]) {
      throw new SigningError('unsupported_algorithm',
        'Схема подписи «' + scheme + '» не подходит для ключа ' + keyInfo.keyAlgorithm + '.');
    }
    var variants = KEY_VARIANTS.get(keyInfo) || {};
    var key = isEc ? (variants.ecdsa || keyInfo.cryptoKey) : variants[scheme + ':' + hash];
    if (!key) {
      var k = keyInfo.cryptoKey;
      var fits = k && k.algorithm && k.algorithm.name === RSA_SCHEMES[scheme] && k.algorithm.hash &&
        k.algorithm.hash.name === hash;
      if (!fits) throw new SigningError('key_import', 'Ключ не подходит для схемы ' + scheme + ' с ' + hash + '.');
      key = k;
    }
    var sig = await subtle().sign(signParams(keyInfo.keyAlgorithm, scheme, hash), key, toUint8(tbsBytes));
    return new Uint8Array(sig);
  }

  // --- CryptoPro ЭЦП Browser plug-in (GOST keys) ---------------------------------------
  // Its async object model (cadesplugin_api.js): window.cadesplugin is a promise that
  // resolves once the extension answers; objects come from CreateObjectAsync, their
  // properties are promises, setters are propset_<Name>. The key stays in CryptoPro.
  // Both items the server prepares (the CAdES-BES and the PAdES signed attributes) are
  // signed the same way: the plug-in hashes the DER with Streebog (HashedData) and
  // signs that hash (RawSignature.SignHash); the server builds the CMS around the value.
  var CADES = {
    CURRENT_USER_STORE: 2, // CAPICOM_CURRENT_USER_STORE
    MY_STORE: 'My', // CAPICOM_MY_STORE
    STORE_OPEN_MAXIMUM_ALLOWED: 2, // CAPICOM_STORE_OPEN_MAXIMUM_ALLOWED
    BASE64_TO_BINARY: 1, // CADESCOM_BASE64_TO_BINARY
    HASH: { 256: 101, 512: 102 }, // CADESCOM_HASH_ALGORITHM_CP_GOST_3411_2012_256 / _512
  };
  var PLUGIN_WAIT_MS = 5000;

  function cadesPlugin() {
    var plugin = window.cadesplugin;
    return plugin && (typeof plugin === 'object' || typeof plugin === 'function') ? plugin : null;
  }

  function pluginError(error) {
    var plugin = cadesPlugin();
    var text = '';
    try {
      text = plugin && typeof plugin.getLastError === 'function' ? plugin.getLastError(error) : '';
    } catch (e) { text = ''; }
    text = text || (error && error.message) || '';
    return new SigningError('cryptopro', MESSAGES.cryptopro + (text ? ': ' + text : ''));
  }

  /** Whether the CryptoPro plug-in is installed and answering (false, never throws). */
  async function cryptoproAvailable() {
    var plugin = cadesPlugin();
    if (!plugin) return false;
    if (typeof plugin.then === 'function') {
      var timer;
      var ready = await Promise.race([
        Promise.resolve(plugin).then(function () { return true; }, function () { return false; }),
        new Promise(function (resolve) { timer = setTimeout(function () { resolve(false); }, PLUGIN_WAIT_MS); }),
      ]);
      clearTimeout(timer);
      if (!ready) return false;
    }
    return typeof plugin.CreateObjectAsync === 'function';
  }

  /**
   * The certificates with a key in the user's personal store ("My").
   * @returns {Promise<Array<{thumbprint, subject, validTo, certificate}>>} thumbprint: SHA-1, hex
   */
  async function listCryptoproCertificates() {
    var plugin = cadesPlugin();
    try {
      var store = await plugin.CreateObjectAsync('CAdESCOM.Store');
      await store.Open(CADES.CURRENT_USER_STORE, CADES.MY_STORE, CADES.STORE_OPEN_MAXIMUM_ALLOWED);
      try {
        var all = await store.Certificates;
        var count = await all.Count;
        var found = [];
        for (var i = 1; i <= count; i++) { // CAPICOM collections count from 1
          var cert = await all.Item(i);
          found.push({
            thumbprint: normalizeFingerprint(await cert.Thumbprint),
            subject: String(await cert.SubjectName),
            validTo: new Date(await cert.ValidToDate),
            certificate: cert,
          });
        }
        return found;
      } finally {
        await store.Close();
      }
    } catch (e) {
      throw pluginError(e);
    }
  }

  function gostHashBits(hash) {
    var m = /(256|512)\s*$/.exec(String(hash || ''));
    return m ? Number(m[1]) : null;
  }

  /**
   * Signs one prepared item with a certificate of the plug-in: Streebog of the DER of
   * the signed attributes, then GOST R 34.10-2012 over that hash.
   * @returns {Promise<Uint8Array>} the value as CryptoPro gives it (CryptoAPI byte order,
   *   the octets of CMS's s||r reversed; the server accepts it so, RFC 4491 §2.2.2)
   */
  async function cryptoproSignItem(certificate, item) {
    var bits = gostHashBits(item.hash);
    if (item.scheme !== 'gost' || !CADES.HASH[bits]) throw new SigningError('cryptopro_not_gost');
    var plugin = cadesPlugin();
    var hex;
    try {
      var hashed = await plugin.CreateObjectAsync('CAdESCOM.HashedData');
      await hashed.propset_Algorithm(CADES.HASH[bits]);
      await hashed.propset_DataEncoding(CADES.BASE64_TO_BINARY);
      await hashed.Hash(item.tbs);
      var raw = await plugin.CreateObjectAsync('CAdESCOM.RawSignature');
      hex = await raw.SignHash(hashed, certificate);
    } catch (e) {
      throw pluginError(e);
    }
    var clean = String(hex || '').replace(/\s+/g, '');
    if (!/^[0-9a-fA-F]+$/.test(clean) || clean.length !== bits / 2) {
      throw new SigningError('cryptopro', MESSAGES.cryptopro + ': неожиданное значение подписи');
    }
    var out = new Uint8Array(clean.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(2 * i, 2), 16);
    return out;
  }

  // --- the server's two phases ----------------------------------------------------------
  async function postJson(url, payload, csrfToken) {
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (csrfToken) headers['X-CSRFToken'] = csrfToken;
    var response;
    try {
      response = await fetch(url, {
        method: 'POST', credentials: 'same-origin', cache: 'no-store', headers: headers,
        body: JSON.stringify(payload),
      });
    } catch (e) {
      throw new SigningError('network');
    }
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    var error = data && data.error;
    if (!response.ok || error) {
      if (error && error.message) {
        throw new SigningError(error.code || 'server', error.message,
          Object.assign({ status: response.status }, error.details || {}));
      }
      throw new SigningError('server', MESSAGES.server + ' (HTTP ' + response.status + ')', { status: response.status });
    }
    if (!data || typeof data !== 'object') throw new SigningError('bad_response');
    return data;
  }

  /**
   * Signs a document in the server's two phases: prepare → sign every item → complete.
   *
   * @param {object} args {prepareUrl, completeUrl, csrfToken, certificateId, keyInfo,
   *   onProgress(stage, message)?, expectedCertificateSha256?, signItem(item)?}; signItem
   *   (the CryptoPro plug-in's) replaces keyInfo: it resolves to an item's signature value
   * @returns {Promise<object>} the server's answer {ok, status, message, redirect}
   * @throws {SigningError} with the server's error.message (Russian) on a 4xx/5xx
   */
  async function signDocument(args) {
    var keyInfo = args.keyInfo;
    var progress = typeof args.onProgress === 'function' ? args.onProgress : function () {};
    if (keyInfo && args.expectedCertificateSha256 != null &&
        normalizeFingerprint(args.expectedCertificateSha256) !== keyInfo.certificateSha256Hex) {
      throw new SigningError('certificate_mismatch');
    }
    var signItem = typeof args.signItem === 'function' ? args.signItem : function (item) {
      return signBytes(keyInfo, fromBase64(item.tbs), { hash: item.hash, scheme: item.scheme });
    };
    progress('sign', MESSAGES.progress_sign);
    var prepared = await postJson(args.prepareUrl, { certificate_id: args.certificateId }, args.csrfToken);
    if (!prepared.session_id || !Array.isArray(prepared.items) || prepared.items.length === 0) {
      throw new SigningError('bad_response');
    }
    var signatures = {};
    for (var i = 0; i < prepared.items.length; i++) {
      var item = prepared.items[i];
      if (!item || !item.kind || !item.tbs) throw new SigningError('bad_response');
      var signature = await signItem(item);
      signatures[item.kind] = toBase64(signature);
    }
    progress('verify', MESSAGES.progress_verify);
    var result = await postJson(args.completeUrl, { session_id: prepared.session_id, signatures: signatures },
      args.csrfToken);
    if (result.ok !== true) throw new SigningError('bad_response');
    progress('done', result.message || MESSAGES.signed);
    return result;
  }

  // --- auto-wiring of form[data-docflow-sign] ----------------------------------------------
  function csrfTokenFor(form) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    var input = form.querySelector('input[name="csrf_token"]');
    return input ? input.value : null;
  }

  var STATUS_CLASSES = { progress: 'flash--info', error: 'flash--error', success: 'flash--success', warning: 'flash--warning' };

  function renderStatus(el, state, message, warnings) {
    if (!el) return;
    el.setAttribute('data-sign-state', state);
    var lines = [];
    (warnings || []).forEach(function (w) { lines.push(['warning', w]); });
    if (message) lines.push([state, message]);
    el.replaceChildren.apply(el, lines.map(function (line) {
      var div = document.createElement('div');
      div.className = 'flash ' + STATUS_CLASSES[line[0]];
      div.setAttribute('data-sign-message', line[0]);
      div.textContent = line[1];
      return div;
    }));
  }

  function sameOriginUrl(target) {
    try {
      var url = new URL(target, window.location.href);
      return url.origin === window.location.origin ? url.href : null;
    } catch (e) { return null; }
  }

  /** Wires one signing form (idempotent). */
  function wireForm(form) {
    if (form.hasAttribute('data-docflow-sign-ready')) return;
    var select = form.querySelector('select[name="certificate_id"]');
    var fileInput = form.querySelector('input[type="file"][name="key_file"]');
    var passwordInput = form.querySelector('input[type="password"][name="key_password"]');
    var statusEl = form.querySelector('[data-sign-status]');
    var submit = form.querySelector('button[type="submit"], input[type="submit"], button:not([type])');
    if (!select || !fileInput || !passwordInput) {
      console.error('docflow signing: the form lacks certificate_id, key_file or key_password', form);
      return;
    }
    if (statusEl) {
      if (!statusEl.hasAttribute('role')) statusEl.setAttribute('role', 'status');
      if (!statusEl.hasAttribute('aria-live')) statusEl.setAttribute('aria-live', 'polite');
    }
    var controls = [select, fileInput, passwordInput, submit].filter(Boolean);
    var busy = false;
    var cryptopro = wireCryptopro(form, select, statusEl, controls);

    form.addEventListener('submit', async function (event) {
      // Never let the browser post the form: it would send the key file's name and
      // the password to the server.
      event.preventDefault();
      if (busy) return;
      busy = true;
      controls.forEach(function (c) { c.disabled = true; });
      form.setAttribute('aria-busy', 'true');
      var warnings = [];
      var keyInfo = null;
      try {
        if (cryptopro.selected()) {
          var chosen = cryptopro.chosen(); // also selects its registration in `select`
          var signed = await signDocument({
            prepareUrl: form.getAttribute('data-prepare-url'),
            completeUrl: form.getAttribute('data-complete-url'),
            csrfToken: csrfTokenFor(form),
            certificateId: select.value,
            signItem: function (item) {
              renderStatus(statusEl, 'progress', MESSAGES.cryptopro_sign);
              return cryptoproSignItem(chosen.certificate, item);
            },
            onProgress: function (stage, message) {
              renderStatus(statusEl, stage === 'done' ? 'success' : 'progress', message);
            },
          });
          var goSigned = form.dispatchEvent(new CustomEvent('docflow:signed', { detail: signed, cancelable: true }));
          var next = signed.redirect && sameOriginUrl(signed.redirect);
          if (goSigned && next) {
            window.location.assign(next);
            return;
          }
          controls.forEach(function (c) { c.disabled = false; });
          return;
        }
        var option = select.selectedOptions[0];
        if (!select.value || !option) throw new SigningError('choose_certificate');
        var expected = normalizeFingerprint(option.getAttribute('data-sha256'));
        if (!expected) throw new SigningError('no_fingerprint');
        var file = fileInput.files && fileInput.files[0];
        if (!file) throw new SigningError('choose_file');

        renderStatus(statusEl, 'progress', MESSAGES.progress_open);
        keyInfo = await openPkcs12(file, passwordInput.value);
        if (keyInfo.certificateSha256Hex !== expected) throw new SigningError('certificate_mismatch');
        warnings = keyInfo.warnings;
        var result = await signDocument({
          prepareUrl: form.getAttribute('data-prepare-url'),
          completeUrl: form.getAttribute('data-complete-url'),
          csrfToken: csrfTokenFor(form),
          certificateId: select.value,
          keyInfo: keyInfo,
          expectedCertificateSha256: expected,
          onProgress: function (stage, message) {
            renderStatus(statusEl, stage === 'done' ? 'success' : 'progress', message, warnings);
          },
        });
        passwordInput.value = '';
        var go = form.dispatchEvent(new CustomEvent('docflow:signed', { detail: result, cancelable: true }));
        var target = result.redirect && sameOriginUrl(result.redirect);
        if (go && target) {
          window.location.assign(target);
          return; // stay disabled while the next page loads
        }
      } catch (error) {
        var err = error instanceof SigningError ? error : new SigningError('internal',
          MESSAGES.internal + (error && error.message ? ': ' + error.message : ''));
        if (!(error instanceof SigningError)) console.error(error);
        renderStatus(statusEl, 'error', err.message, warnings);
        form.dispatchEvent(new CustomEvent('docflow:sign-error', { detail: { code: err.code, message: err.message } }));
        controls.forEach(function (c) { c.disabled = false; });
        if (err.code === 'wrong_password') { passwordInput.focus(); passwordInput.select(); }
        else if (err.code === 'certificate_mismatch') select.focus();
      } finally {
        keyInfo = null;
        busy = false;
        form.removeAttribute('aria-busy');
      }
    });
    // Forms are rendered with a disabled submit button: without this script there
    // is no way to sign, and no way to post the key by accident.
    if (submit) submit.disabled = false;
    form.setAttribute('data-docflow-sign-ready', '');
  }

  /**
   * Offers the CryptoPro plug-in beside the key file where it answers: its certificates
   * are listed and matched by SHA-1 thumbprint to the registered ones of `select`
   * (option[data-sha1]). Returns {selected(), chosen()}.
   */
  function wireCryptopro(form, select, statusEl, controls) {
    var box = form.querySelector('[data-cryptopro]');
    var list = form.querySelector('select[name="cryptopro_certificate"]');
    var listBox = form.querySelector('[data-cryptopro-certificates]');
    var keyFileBox = form.querySelector('[data-key-file]');
    var radios = form.querySelectorAll('input[name="key_source"]');
    var found = [];
    var loaded = null;
    var api = {
      selected: function () {
        var r = form.querySelector('input[name="key_source"]:checked');
        return !!(box && !box.hidden && r && r.value === 'cryptopro');
      },
      chosen: function () {
        var pick = found.filter(function (f) { return f.thumbprint === list.value; })[0];
        if (!pick) throw new SigningError(found.length ? 'cryptopro_choose' : 'cryptopro_none');
        var option = registeredOption(pick.thumbprint);
        if (!option) throw new SigningError('cryptopro_not_registered');
        select.value = option.value;
        return pick;
      },
    };
    if (!box || !list) return api;

    function registeredOption(thumbprint) {
      return Array.prototype.filter.call(select.options, function (o) {
        return normalizeFingerprint(o.getAttribute('data-sha1')) === thumbprint;
      })[0] || null;
    }

    function load() {
      if (!loaded) {
        renderStatus(statusEl, 'progress', MESSAGES.cryptopro_list);
        loaded = listCryptoproCertificates().then(function (certs) {
          // The registered ones first; the others are shown, not selectable.
          found = certs.slice().sort(function (a, b) {
            return (registeredOption(a.thumbprint) ? 0 : 1) - (registeredOption(b.thumbprint) ? 0 : 1);
          });
          list.replaceChildren.apply(list, found.map(function (f) {
            var o = document.createElement('option');
            o.value = f.thumbprint;
            o.textContent = f.subject + ', до ' + formatDate(f.validTo) +
              (registeredOption(f.thumbprint) ? '' : ' — не зарегистрирован в кабинете');
            o.disabled = !registeredOption(f.thumbprint);
            return o;
          }));
          var first = found.filter(function (f) { return registeredOption(f.thumbprint); })[0];
          if (first) {
            list.value = first.thumbprint;
            select.value = registeredOption(first.thumbprint).value;
            if (statusEl) { statusEl.removeAttribute('data-sign-state'); statusEl.replaceChildren(); }
          } else {
            renderStatus(statusEl, 'warning', MESSAGES.cryptopro_none);
          }
        }, function (error) {
          loaded = null;
          renderStatus(statusEl, 'error', error.message);
        });
      }
      return loaded;
    }

    function show() {
      var plugin = api.selected();
      if (keyFileBox) keyFileBox.hidden = plugin;
      if (listBox) listBox.hidden = !plugin;
      if (plugin) load();
    }

    radios.forEach(function (r) { r.addEventListener('change', show); });
    list.addEventListener('change', function () {
      var option = registeredOption(list.value);
      if (option) select.value = option.value;
    });
    controls.push(list);
    Array.prototype.push.apply(controls, radios);
    cryptoproAvailable().then(function (present) {
      if (present) box.hidden = false;
    });
    return api;
  }

  function wireAll(root) {
    (root || document).querySelectorAll('form[data-docflow-sign]').forEach(wireForm);
  }

  window.DocflowSigning = Object.freeze({
    openPkcs12: openPkcs12,
    signBytes: signBytes,
    signDocument: signDocument,
    wireForm: wireForm,
    wireAll: wireAll,
    cryptoproAvailable: cryptoproAvailable,
    listCryptoproCertificates: listCryptoproCertificates,
    cryptoproSignItem: cryptoproSignItem,
    SigningError: SigningError,
    MESSAGES: MESSAGES,
  });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { wireAll(document); });
  } else {
    wireAll(document);
  }
})();
