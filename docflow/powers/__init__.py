"""Machine-readable powers of attorney (МЧД): an employee signs for a company
with a personal certificate under an МЧД the company's head signed.

The signatory (or an integration) uploads the МЧД with its detached signature;
it is read and checked (:mod:`signing.mchd`, :func:`signing.verify_cms`) and its
status asked of the ФНС registry through an adapter (:mod:`.registry`). The
signing flow asks :func:`.services.authorise` whether a personal certificate
may sign a document of an organisation at the moment the signature is proven
to exist; the МЧД relied on is kept with the signature as evidence.
"""
