/* A test double of the CryptoPro ЭЦП Browser plug-in: just the part of its async
 * object model (cadesplugin_api.js) that docflow's signing.js uses.
 *
 * Test code only: injected by tests/e2e/test_cryptopro_e2e.py with Playwright's
 * page.add_init_script, after `window.__CADES_DOUBLE__ = {url, certificates}`
 * (certificates: [{thumbprint, subject, validTo}]). It computes nothing
 * cryptographic: HashedData.Hash and RawSignature.SignHash post to the test's
 * key holder at `url`, which hashes with Streebog and signs with a test GOST key,
 * and answers as CryptoPro would (the hash and the signature in hex, the signature
 * in CryptoAPI byte order).
 */
(function () {
  'use strict';
  var config = window.__CADES_DOUBLE__;
  if (!config) return;

  async function call(path, payload) {
    var response = await fetch(config.url + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });
    var data = await response.json();
    if (!response.ok) throw new Error(data.error || ('HTTP ' + response.status));
    return data;
  }

  function Certificate(info) {
    this._info = info;
    // Properties of the async model are promises.
    this.Thumbprint = Promise.resolve(info.thumbprint);
    this.SubjectName = Promise.resolve(info.subject);
    this.ValidToDate = Promise.resolve(info.validTo);
  }

  function Certificates(list) {
    this._list = list;
    this.Count = Promise.resolve(list.length);
  }
  Certificates.prototype.Item = function (index) { // 1-based, as CAPICOM
    var cert = this._list[index - 1];
    return cert ? Promise.resolve(cert) : Promise.reject(new Error('Неверный индекс.'));
  };

  function Store() { this._open = false; }
  Store.prototype.Open = function (location, name) {
    if (location !== 2 || name !== 'My') return Promise.reject(new Error('Хранилище не найдено.'));
    this._open = true;
    return Promise.resolve();
  };
  Store.prototype.Close = function () { this._open = false; return Promise.resolve(); };
  Object.defineProperty(Store.prototype, 'Certificates', {
    get: function () {
      if (!this._open) return Promise.reject(new Error('Хранилище не открыто.'));
      return Promise.resolve(new Certificates(config.certificates.map(function (c) {
        return new Certificate(c);
      })));
    },
  });

  function HashedData() { this._algorithm = null; this._encoding = 0; this._hash = null; }
  HashedData.prototype.propset_Algorithm = function (v) { this._algorithm = v; return Promise.resolve(); };
  HashedData.prototype.propset_DataEncoding = function (v) { this._encoding = v; return Promise.resolve(); };
  HashedData.prototype.Hash = async function (data) {
    if (this._encoding !== 1) throw new Error('the double takes base64 data only');
    var answer = await call('/hash', { algorithm: this._algorithm, data: data });
    this._hash = answer.hash;
  };
  Object.defineProperty(HashedData.prototype, 'Value', {
    get: function () { return Promise.resolve(this._hash); },
  });

  function RawSignature() {}
  RawSignature.prototype.SignHash = async function (hashed, certificate) {
    if (!(hashed instanceof HashedData) || !hashed._hash) throw new Error('Хеш не вычислен.');
    var answer = await call('/sign', {
      algorithm: hashed._algorithm, hash: hashed._hash, thumbprint: certificate._info.thumbprint,
    });
    return answer.signature;
  };

  var classes = {
    'CAdESCOM.Store': Store, 'CAdESCOM.HashedData': HashedData, 'CAdESCOM.RawSignature': RawSignature,
  };
  var plugin = Promise.resolve();
  plugin.CreateObjectAsync = function (name) {
    var Made = classes[name];
    return Made ? Promise.resolve(new Made()) : Promise.reject(new Error('Unknown object ' + name));
  };
  plugin.getLastError = function (error) { return error && error.message; };
  plugin.CAPICOM_CURRENT_USER_STORE = 2;
  plugin.CAPICOM_MY_STORE = 'My';
  plugin.CAPICOM_STORE_OPEN_MAXIMUM_ALLOWED = 2;
  plugin.CADESCOM_BASE64_TO_BINARY = 1;
  plugin.CADESCOM_HASH_ALGORITHM_CP_GOST_3411_2012_256 = 101;
  plugin.CADESCOM_HASH_ALGORITHM_CP_GOST_3411_2012_512 = 102;
  window.cadesplugin = plugin;
})();
