"""The cabinet: a Flask application over the signing, storage, notifications
and netguard libraries."""

import warnings

# cryptography 47+ deprecates DSA; pyHanko imports its key types only to
# recognise (and refuse) such keys. Not a problem of ours: keep it off the
# operator's console.
warnings.filterwarnings("ignore", message="DSA is deprecated")
