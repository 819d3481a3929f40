// «Я не робот» on the registration page: the vendored ALTCHA widget under the
// site's strict Content-Security-Policy (script-src 'self': no inline code, no
// blob: workers). Imports are evaluated in order: the Russian labels (which also
// create the global $altcha registry), then the proof-of-work worker, then the
// widget itself, so the worker is registered before any widget starts.
import "../vendor/altcha/i18n/ru.js";
import "./altcha-workers.js";
import "../vendor/altcha/altcha.min.js";
