"""What the updates after a signature change: a fast path for signing updates.

pyHanko's difference analysis (``StandardDiffPolicy``) reviews every revision
after the signed one against it. Before the first rule runs it walks the whole
signed revision to learn every path by which each object is reachable (the
"reverse xref cache"), and it walks the new objects to find orphans: for a
one-page act with an embedded font that is most of the cost of verifying a
document signed twice, and it is paid again for every later signature and
policy.

The updates this service writes are of three kinds only: a signature (or
document time-stamp) field with its widget and appearance, added to the form
and to a page's ``/Annots``; the document security store (PAdES B-LT); and the
``/Info`` dates that go with them. :class:`FastDiffPolicy` recognises exactly
these from the few objects they touch, and hands every other revision to
pyHanko's policy unchanged, so the verdict on anything else is pyHanko's.

What a recognised update may do (revision *k* against its predecessor *p*; by
induction every revision then differs from the signed one only so):

* free nothing; overwrite only the catalog (``/AcroForm``, ``/DSS``,
  ``/Extensions``, ``/Version``, ``/Metadata`` may change, nothing else), the
  ``/Info`` dictionary (``/ModDate`` and ``/Producer``), the form (``/Fields``
  grows at its end, ``/SigFlags``), a page (``/Annots`` grows at its end), the
  security store (arrays of streams: certificates, CRLs, OCSP responses), the
  XMP stream (pyHanko's writer renews it; well-formed XMP before and after,
  as pyHanko's MetadataUpdateRule demands) — or rewrite an object
  byte-identically; the trailer keeps ``/Root`` and ``/Info``;
* add fields that are new objects: signature fields at the root of the form,
  merged with their widget, without ``/Kids``, ``/Lock`` or seed values, with
  names no other field has; a page may gain only these widgets;
* define no object that anything at revision *p* already refers to. An
  object number that the signed revision names but does not define resolves
  to null; defining it later would change signed content without touching a
  signed byte. pyHanko finds such references in its reverse cache; here a
  scan of the bytes before the update finds every ``n g R`` pyHanko's reader
  could take for a reference (its own pattern, with more false alarms —
  which only send the revision to pyHanko).

The keys an update may change mean nothing outside their role (``/Annots``
only in a page, ``/Fields`` only in a form...), so a dictionary that is also
reachable some other way (pyHanko's concern with multiple paths) changes
nothing there. A stream's new bytes would change every use of it: the XMP
stream may be rewritten only while nothing but versions of the catalog names
it. The modification level is pyHanko's for the same update:
``FORM_FILLING`` for a visible new signature field (and its name among the
changed fields), ``LTA_UPDATES`` otherwise. A signature with DocMDP or FieldMDP
restrictions, a file with object streams before the update, a hybrid-reference
section: all go to pyHanko.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.pdf_utils.xref import XRefSectionType
from pyhanko.sign.diff_analysis import (
    DiffPolicy,
    DiffResult,
    MetadataUpdateRule,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.fields import FieldMDPSpec, MDPPerm

__all__ = ["DocumentDiffs", "FastDiffPolicy"]

logger = logging.getLogger(__name__)

#: The catalog entries a signing update may change (pyHanko's
#: ``ROOT_EXEMPT_STRICT_COMPARISON`` minus ``/MarkInfo``, which is left to
#: pyHanko). pyHanko adds ``/Metadata`` (XMP) and an ISO extension when it
#: writes an ECDSA signature (ISO 32002).
_CATALOG_KEYS = frozenset({"/AcroForm", "/DSS", "/Extensions", "/Version", "/Metadata"})
_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
_FORM_KEYS = frozenset({"/Fields", "/SigFlags"})
_DSS_ARRAYS = frozenset({"/Certs", "/CRLs", "/OCSPs"})
_TRAILER_KEYS = frozenset({"/ID", "/Size", "/Prev"})
#: A new signature field merged with its widget: what pyHanko and common
#: signing tools write. ``/Kids``, ``/Parent``, ``/Lock`` and ``/SV`` are not
#: here: such fields go to pyHanko.
_FIELD_KEYS = frozenset(
    {
        "/FT",
        "/T",
        "/TU",
        "/TM",
        "/Ff",
        "/V",
        "/Type",
        "/Subtype",
        "/F",
        "/Rect",
        "/P",
        "/AP",
        "/AS",
        "/MK",
        "/DA",
        "/Border",
        "/BS",
        "/C",
        "/NM",
        "/M",
        "/StructParent",
    }
)

#: pyHanko's reader takes ``(\d+)\s+(\d+)\s+R[^a-zA-Z]`` within a 20-byte peek
#: for a reference (``generic.INDIRECT_PATTERN``), so the ``R`` of a reference
#: is preceded by white space and stands at most 18 bytes after its number.
_REFERENCE_HEAD = re.compile(rb"(\d+)\s+\d+\s+\Z")
#: ``\s`` and ``[a-zA-Z]`` of that pattern, as byte values.
_SPACE = frozenset(b" \t\n\r\x0b\x0c")
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_REFERENCE_REACH = 18
_EOF = b"%%EOF"

#: What reading a damaged object may raise in pyHanko.
_READ_ERRORS = (PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError)


class _NotRecognised(Exception):
    """The update is not one of the shapes handled here: pyHanko decides."""


def _key(ref: generic.Reference | generic.IndirectObject) -> tuple[int, int]:
    return int(ref.idnum), int(ref.generation)


def _same(old: object, new: object) -> bool:
    """Byte-level equality of two PDF values as written (references are not
    followed), as pyHanko's ``_is_id`` judges a rewritten object."""
    if isinstance(old, generic.IndirectObject):
        return isinstance(new, generic.IndirectObject) and _key(old) == _key(new)
    if isinstance(old, generic.TextStringObject | generic.ByteStringObject):
        return (
            isinstance(new, generic.TextStringObject | generic.ByteStringObject)
            and old.original_bytes == new.original_bytes
        )
    if isinstance(old, generic.ArrayObject):
        return (
            isinstance(new, generic.ArrayObject)
            and len(old) == len(new)
            and all(_same(old.raw_get(i), new.raw_get(i)) for i in range(len(old)))
        )
    if isinstance(old, generic.StreamObject) and not (
        isinstance(new, generic.StreamObject) and old.encoded_data == new.encoded_data
    ):
        return False
    if isinstance(old, generic.DictionaryObject):
        return (
            isinstance(new, generic.DictionaryObject)
            and isinstance(new, generic.StreamObject)
            == isinstance(old, generic.StreamObject)
            and set(old.keys()) == set(new.keys())
            and all(_same(old.raw_get(k), new.raw_get(k)) for k in old)
        )
    return type(old) is type(new) and old == new


def _changed_keys(
    old: object, new: object, allowed: frozenset[str]
) -> tuple[generic.DictionaryObject, generic.DictionaryObject]:
    """Both plain dictionaries, differing in ``allowed`` keys only."""
    if not (
        isinstance(old, generic.DictionaryObject)
        and isinstance(new, generic.DictionaryObject)
        and not isinstance(old, generic.StreamObject)
        and not isinstance(new, generic.StreamObject)
    ):
        raise _NotRecognised("not a dictionary")
    keys = set(old.keys()) | set(new.keys())
    for k in keys - allowed:
        if k not in old or k not in new or not _same(old.raw_get(k), new.raw_get(k)):
            raise _NotRecognised(f"{k} changed")
    return old, new


def _appended(old: object, new: object) -> list[generic.IndirectObject]:
    """The references appended to a direct array; the old entries unchanged."""
    if old is None:
        old = generic.ArrayObject()
    if not (
        isinstance(old, generic.ArrayObject) and isinstance(new, generic.ArrayObject)
    ):
        raise _NotRecognised("not a direct array")
    if len(new) < len(old) or not all(
        _same(old.raw_get(i), new.raw_get(i)) for i in range(len(old))
    ):
        raise _NotRecognised("array entries changed")
    added = [new.raw_get(i) for i in range(len(old), len(new))]
    if not all(isinstance(a, generic.IndirectObject) for a in added):
        raise _NotRecognised("a direct entry appended")
    return added


def _visible(annotation: generic.DictionaryObject) -> bool:
    """pyHanko's ``is_annot_visible``: a widget with a non-empty ``/Rect``."""
    rect = _raw(annotation, "/Rect")
    if isinstance(rect, generic.IndirectObject):
        raise _NotRecognised("an indirect /Rect")
    if not isinstance(rect, generic.ArrayObject) or len(rect) != 4:
        return False
    values = [rect.raw_get(i) for i in range(4)]
    if not all(
        isinstance(v, generic.NumberObject | generic.FloatObject) for v in values
    ):
        raise _NotRecognised("a /Rect of other than numbers")
    x1, y1, x2, y2 = (float(v) for v in values)
    return bool(abs(x1 - x2) * abs(y1 - y2))


def _raw(dictionary: generic.DictionaryObject, key: str) -> object:
    try:
        return dictionary.raw_get(key)
    except KeyError:
        return None


@dataclass
class _References:
    """Where each object number is named as ``n g R`` in the first bytes of
    a file (a superset of what pyHanko's reader takes for references),
    scanned as far as asked."""

    data: bytes
    scanned: int = 0
    places: dict[int, set[int]] = field(default_factory=dict)

    def _scan(self, boundary: int) -> None:
        if boundary <= self.scanned:
            return
        data, find, search = self.data, self.data.find, _REFERENCE_HEAD.search
        # A reference that ends at the old boundary was whole in the earlier
        # scan; one cut by it starts at most this far before it.
        pos = max(0, self.scanned - _REFERENCE_REACH - 2)
        # A loop over find() is five times faster than a regular expression
        # that looks for white space followed by "R".
        while (r := find(b"R", pos, boundary)) >= 0:
            pos = r + 1
            if (
                r
                and data[r - 1] in _SPACE
                and (r + 1 >= len(data) or data[r + 1] not in _LETTERS)
            ):
                head = search(data, max(0, r - _REFERENCE_REACH), r)
                if head is not None:
                    self.places.setdefault(int(head.group(1)), set()).add(head.start())
        self.scanned = boundary

    def before(self, number: int, boundary: int) -> list[int]:
        """The offsets before ``boundary`` where ``number`` is named."""
        self._scan(boundary)
        return sorted(p for p in self.places.get(number, ()) if p < boundary)

    def named_before(self, numbers: Iterable[int], boundary: int) -> bool:
        """Whether any of ``numbers`` is named before offset ``boundary``."""
        return any(self.before(n, boundary) for n in numbers)


class DocumentDiffs:
    """The recognised updates of one document, each judged once for every
    signature and policy that asks (the answer for revision *k* does not
    depend on which signature's revision it is compared with)."""

    def __init__(self, reader: PdfFileReader, data: bytes) -> None:
        self._reader = reader
        self._data = data
        self._references = _References(data)
        self._results: dict[int, DiffResult | None] = {}
        self._spans: dict[int, tuple[int, int]] = {}
        self._objects: dict[tuple[int, int, int], object] = {}

    @property
    def reader(self) -> PdfFileReader:
        return self._reader

    def result(self, revision: int) -> DiffResult | None:
        """The analysis of ``revision`` against the one before it, or None
        when it is not a shape recognised here."""
        if revision not in self._results:
            try:
                self._results[revision] = self._recognise(revision)
            except _NotRecognised as exc:
                logger.debug("revision %d goes to pyHanko: %s", revision, exc)
                self._results[revision] = None
            except _READ_ERRORS as exc:
                logger.debug("revision %d goes to pyHanko: %s", revision, exc)
                self._results[revision] = None
        return self._results[revision]

    def object_at(
        self, ref: generic.Reference | generic.IndirectObject, revision: int
    ) -> object:
        """The object ``ref`` as it is in ``revision``, as written (the
        references in it are not followed). pyHanko's historical resolver
        also copies each object it hands out; reading only, nothing needs
        the copy."""
        key = (*_key(ref), revision)
        if key not in self._objects:
            reader = self._reader
            target = generic.Reference(key[0], key[1], reader)
            if reader.xrefs.get_last_change(target) <= revision:
                found = reader.get_object(  # type: ignore[no-untyped-call]
                    target, transparent_decrypt=False
                )
            else:
                found = reader.get_object(  # type: ignore[no-untyped-call]
                    target, revision, transparent_decrypt=False
                )
            self._objects[key] = found
        return self._objects[key]

    def named_only_in_catalog(self, number: int, revision: int) -> bool:
        """Whether every ``number g R`` before ``revision`` lies inside a
        version of the catalog (from its offset to its first ``endobj``: no
        longer than what pyHanko reads as the catalog)."""
        xrefs = self._reader.xrefs
        boundary = self._boundary(revision - 1)
        root = self._reader.trailer.raw_get("/Root", revision=revision - 1)
        target = generic.Reference(root.idnum, root.generation, self._reader)
        spans = []
        for earlier in range(revision):
            if target in xrefs.explicit_refs_in_revision(earlier):
                where = xrefs.get_historical_ref(target, earlier)
                if isinstance(where, int):
                    spans.append((where, self._data.find(b"endobj", where, boundary)))
        return all(
            any(start <= place < end for start, end in spans)
            for place in self._references.before(number, boundary)
        )

    # -- the byte layout ------------------------------------------------------

    def _boundary(self, revision: int) -> int:
        """The offset just after ``%%EOF`` of ``revision``."""
        xrefs = self._reader.xrefs
        start = xrefs.get_startxref_for_revision(revision)
        end = self._data.find(_EOF, start)
        if end < 0:
            raise _NotRecognised("no %%EOF")
        return end + len(_EOF)

    def _offsets(self, revision: int) -> tuple[int, int]:
        """The lowest and highest offset of the objects ``revision`` writes."""
        if revision not in self._spans:
            xrefs = self._reader.xrefs
            offsets = []
            for ref in xrefs.explicit_refs_in_revision(revision):
                where = xrefs.get_historical_ref(ref, revision)
                if where is None:
                    continue  # a free entry
                if not isinstance(where, int):
                    raise _NotRecognised("an object in an object stream")
                offsets.append(where)
            self._spans[revision] = (
                min(offsets, default=len(self._data)),
                max(offsets, default=-1),
            )
        return self._spans[revision]

    def _check_layout(self, revision: int) -> int:
        """The bytes before ``revision`` hold every object of the earlier
        revisions, and no object stream hides references from the scan."""
        xrefs = self._reader.xrefs
        boundary = self._boundary(revision - 1)
        for earlier in range(revision):
            meta = xrefs.get_xref_container_info(earlier)
            if meta.xref_section_type not in (
                XRefSectionType.STANDARD,
                XRefSectionType.STREAM,
            ) or xrefs.object_streams_used_in(earlier):  # type: ignore[no-untyped-call]
                raise _NotRecognised("object streams or hybrid references")
            if self._offsets(earlier)[1] >= boundary:
                raise _NotRecognised("an earlier object lies after its revision")
        meta = xrefs.get_xref_container_info(revision)
        if meta.xref_section_type is not XRefSectionType.STANDARD:
            raise _NotRecognised("not a cross-reference table")
        if self._offsets(revision)[0] < boundary:
            raise _NotRecognised("an object of the update lies in earlier bytes")
        return boundary

    # -- the update -----------------------------------------------------------

    def _recognise(self, revision: int) -> DiffResult:
        reader = self._reader
        xrefs = reader.xrefs
        if revision < 1 or xrefs.refs_freed_in_revision(revision):
            raise _NotRecognised("objects freed")
        boundary = self._check_layout(revision)
        old_trailer = reader.trailer.flatten(revision - 1)
        _check_trailer(old_trailer, reader.trailer.flatten(revision))

        size = xrefs.get_xref_container_info(revision - 1).size
        refs = xrefs.explicit_refs_in_revision(revision)
        # pyHanko's is_ref_unassignable: a number the old revision could not
        # have used is a new object.
        fresh = {_key(r) for r in refs if r.idnum >= size}
        if self._references.named_before({n for n, _ in fresh}, boundary):
            raise _NotRecognised("a new object was named before it existed")

        update = _Update(self, revision, old_trailer, fresh)
        for ref in refs:
            if _key(ref) not in fresh:
                update.overwritten(ref)
        return update.result()


def _check_trailer(
    old: generic.DictionaryObject, new: generic.DictionaryObject
) -> None:
    if "/Encrypt" in new:
        raise _NotRecognised("encrypted")
    for k in (set(old.keys()) | set(new.keys())) - _TRAILER_KEYS:
        if k not in old or k not in new or not _same(old.raw_get(k), new.raw_get(k)):
            raise _NotRecognised(f"trailer {k} changed")


class _Update:
    """The overwritten objects of one revision, sorted by role and checked."""

    def __init__(
        self,
        diffs: DocumentDiffs,
        revision: int,
        old_trailer: generic.DictionaryObject,
        fresh: set[tuple[int, int]],
    ) -> None:
        self.diffs = diffs
        self.revision = revision
        self.fresh = fresh
        root = old_trailer.raw_get("/Root")
        if not isinstance(root, generic.IndirectObject):
            raise _NotRecognised("a direct /Root")
        self.root = _key(root)
        info = _raw(old_trailer, "/Info")
        self.info = _key(info) if isinstance(info, generic.IndirectObject) else None
        old_root = self.old(root)
        if not isinstance(old_root, generic.DictionaryObject):
            raise _NotRecognised("the catalog is not a dictionary")
        form = _raw(old_root, "/AcroForm")
        self.form = _key(form) if isinstance(form, generic.IndirectObject) else None
        dss = _raw(old_root, "/DSS")
        self.dss = _key(dss) if isinstance(dss, generic.IndirectObject) else None
        metadata = _raw(old_root, "/Metadata")
        self.metadata = (
            _key(metadata) if isinstance(metadata, generic.IndirectObject) else None
        )
        self.fields: list[generic.IndirectObject] = []
        self.widgets: list[generic.IndirectObject] = []
        self.new_form: tuple[int, int] | None = None
        self.new_dss: tuple[int, int] | None = None

    def old(self, ref: generic.Reference | generic.IndirectObject) -> object:
        return self.diffs.object_at(ref, self.revision - 1)

    def new(self, ref: generic.Reference | generic.IndirectObject) -> object:
        return self.diffs.object_at(ref, self.revision)

    def overwritten(self, ref: generic.Reference) -> None:
        key = _key(ref)
        xrefs = self.diffs.reader.xrefs
        if xrefs.get_historical_ref(ref, self.revision - 1) is None:
            raise _NotRecognised("a free object number reused")
        before, after = self.old(ref), self.new(ref)
        if _same(before, after):
            return  # rewritten unchanged: pyHanko ignores it too
        if key == self.root:
            self._catalog(before, after)
        elif key == self.info:
            _changed_keys(before, after, _INFO_KEYS)
        elif key == self.form:
            old_form, new_form = _changed_keys(before, after, _FORM_KEYS)
            self._form(old_form, new_form)
        elif key == self.dss:
            self._dss(after)
        elif key == self.metadata:
            self._metadata_stream(before, after)
        elif (
            isinstance(before, generic.DictionaryObject)
            and _raw(before, "/Type") == "/Page"
        ):
            old_page, new_page = _changed_keys(before, after, frozenset({"/Annots"}))
            self.widgets += _appended(
                _raw(old_page, "/Annots"), _raw(new_page, "/Annots")
            )
        else:
            raise _NotRecognised(f"object {key} changed")

    def _catalog(self, before: object, after: object) -> None:
        old_root, new_root = _changed_keys(before, after, _CATALOG_KEYS)
        for key in ("/Extensions", "/Version"):
            value = _raw(new_root, key)
            if isinstance(value, generic.IndirectObject):
                raise _NotRecognised(f"an indirect {key}")
        metadata = _raw(new_root, "/Metadata")
        if not _same(_raw(old_root, "/Metadata"), metadata) and not (
            isinstance(metadata, generic.IndirectObject)
            and _key(metadata) in self.fresh
        ):
            raise _NotRecognised("/Metadata replaced by an old object")
        for key in ("/AcroForm", "/DSS"):
            value = _raw(new_root, key)
            known = self.form if key == "/AcroForm" else self.dss
            if value is None:
                if known is not None or key in old_root:
                    raise _NotRecognised(f"{key} removed")
                continue
            if not isinstance(value, generic.IndirectObject):
                raise _NotRecognised(f"a direct {key}")
            if known is not None:
                if _key(value) != known:
                    raise _NotRecognised(f"{key} replaced")
                continue
            if key in old_root or _key(value) not in self.fresh:
                raise _NotRecognised(f"{key} points to an old object")
            if key == "/AcroForm":
                self.new_form = _key(value)
            else:
                self.new_dss = _key(value)

    def _form(self, old_form: object, new_form: generic.DictionaryObject) -> None:
        old_fields = None
        if isinstance(old_form, generic.DictionaryObject):
            old_fields = _raw(old_form, "/Fields")
        self.fields += _appended(old_fields, _raw(new_form, "/Fields"))
        flags = _raw(new_form, "/SigFlags")
        if flags is not None and not isinstance(flags, generic.NumberObject):
            raise _NotRecognised("/SigFlags is not a number")

    def _dss(self, after: object) -> None:
        """The security store (EN 319 142-1 §5.4.2): arrays of streams only;
        entries may be added or dropped (pyHanko's DSSCompareRule allows
        both). ``/VRI`` goes to pyHanko."""
        if not isinstance(after, generic.DictionaryObject) or isinstance(
            after, generic.StreamObject
        ):
            raise _NotRecognised("/DSS is not a dictionary")
        for key in after:
            value = after.raw_get(key)
            if key == "/Type" and isinstance(value, generic.NameObject):
                continue
            if key not in _DSS_ARRAYS or not isinstance(value, generic.ArrayObject):
                raise _NotRecognised(f"/DSS {key}")
            for i in range(len(value)):
                item = value.raw_get(i)
                if not isinstance(item, generic.IndirectObject) or not isinstance(
                    self.new(item), generic.StreamObject
                ):
                    raise _NotRecognised("a /DSS entry that is not a stream")

    def _metadata_stream(self, before: object, after: object) -> None:
        """The XMP stream rewritten in place (pyHanko's writer renews its
        dates in every update): pyHanko's MetadataUpdateRule allows it while
        the catalog keeps pointing at it and both versions are well-formed XMP
        (:meth:`_check_metadata`). New bytes in a stream change every use of
        it, so nothing but the catalog may name it."""
        if not (
            isinstance(before, generic.StreamObject)
            and isinstance(after, generic.StreamObject)
        ):
            raise _NotRecognised("/Metadata is not a stream")
        new_root = self.new(generic.Reference(*self.root))
        metadata = (
            _raw(new_root, "/Metadata")
            if isinstance(new_root, generic.DictionaryObject)
            else None
        )
        if (
            not isinstance(metadata, generic.IndirectObject)
            or _key(metadata) != self.metadata
        ):
            raise _NotRecognised("/Metadata rewritten and replaced")
        if not self.diffs.named_only_in_catalog(metadata.idnum, self.revision):
            raise _NotRecognised("the /Metadata stream is named outside the catalog")

    def _check_metadata(self) -> None:
        """pyHanko's MetadataUpdateRule runs on every revision: ``/Metadata``,
        when present, is an indirect, well-formed XMP stream, before and
        after."""
        reader = self.diffs.reader
        for revision in (self.revision, self.revision - 1):
            root = self.diffs.object_at(generic.Reference(*self.root), revision)
            value = (
                _raw(root, "/Metadata")
                if isinstance(root, generic.DictionaryObject)
                else None
            )
            if value is None:
                continue
            if not isinstance(value, generic.IndirectObject):
                raise _NotRecognised("a direct /Metadata")
            resolver = reader.get_historical_resolver(revision)
            try:
                MetadataUpdateRule.is_well_formed_xml(
                    generic.Reference(value.idnum, value.generation, resolver)
                )
            except SuspiciousModification as exc:
                raise _NotRecognised(f"/Metadata: {exc}") from None

    def result(self) -> DiffResult:
        self._check_metadata()
        if self.new_form is not None:
            form = self.new(generic.Reference(*self.new_form))
            empty = generic.DictionaryObject()  # type: ignore[no-untyped-call]
            _, new_form = _changed_keys(empty, form, _FORM_KEYS)
            self._form(None, new_form)
        if self.new_dss is not None:
            self._dss(self.new(generic.Reference(*self.new_dss)))
        level = ModificationLevel.LTA_UPDATES
        changed: set[str] = set()
        added = {_key(f) for f in self.fields}
        if len(added) != len(self.fields) or not added <= self.fresh:
            raise _NotRecognised("a field that is not a new object")
        for widget in self.widgets:
            if _key(widget) not in added:
                raise _NotRecognised("a page gained an annotation that is no new field")
        names = self._field_names()
        for ref in self.fields:
            sig_field = self.new(ref)
            if not isinstance(sig_field, generic.DictionaryObject):
                raise _NotRecognised("a field that is not a dictionary")
            if not set(sig_field.keys()) <= _FIELD_KEYS:
                raise _NotRecognised("a field with unexpected keys")
            if _raw(sig_field, "/FT") != "/Sig":
                raise _NotRecognised("a new field that is no signature field")
            if _raw(sig_field, "/Subtype") not in (None, "/Widget"):
                raise _NotRecognised("a field merged with a non-widget annotation")
            if self._fills_form(sig_field):
                level = ModificationLevel.FORM_FILLING
                changed.add(names[_key(ref)])
        return DiffResult(modification_level=level, changed_form_fields=changed)

    def _fills_form(self, sig_field: generic.DictionaryObject) -> bool:
        """pyHanko's level for a new signature field (SigFieldCreationRule and
        SigFieldModificationRule): ``FORM_FILLING`` when it is visible, has an
        appearance of its own, or holds a signature (not an invisible
        document time-stamp); ``LTA_UPDATES`` otherwise."""
        visible = _visible(sig_field)
        appearance = self._new_references(_raw(sig_field, "/AP"))
        value = _raw(sig_field, "/V")
        if value is None:
            return visible or appearance
        if (
            not isinstance(value, generic.IndirectObject)
            or _key(value) not in self.fresh
        ):
            raise _NotRecognised("a signature value that is not a new object")
        signature = self.new(value)
        if (
            not isinstance(signature, generic.DictionaryObject)
            or "/Reference" in signature
        ):
            raise _NotRecognised("a signature value with transform parameters")
        stamp = _raw(signature, "/Type") == "/DocTimeStamp" and not visible
        return visible or appearance or not stamp

    def _new_references(self, value: object) -> bool:
        """Whether a direct value refers to objects, all of them new ones."""
        if isinstance(value, generic.IndirectObject):
            if _key(value) not in self.fresh:
                raise _NotRecognised("an appearance that refers to an old object")
            return True
        if isinstance(value, generic.DictionaryObject):
            items = [value.raw_get(k) for k in value]
        elif isinstance(value, generic.ArrayObject):
            items = [value.raw_get(i) for i in range(len(value))]
        else:
            return False
        found = [self._new_references(item) for item in items]
        return any(found)

    def _field_names(self) -> dict[tuple[int, int], str]:
        """The names of the form's root fields, all distinct."""
        if not self.fields:
            return {}
        root = self.new(generic.Reference(*self.root))
        form_ref = (
            _raw(root, "/AcroForm")
            if isinstance(root, generic.DictionaryObject)
            else None
        )
        if not isinstance(form_ref, generic.IndirectObject):
            raise _NotRecognised("a direct /AcroForm")
        form = self.new(form_ref)
        fields = (
            _raw(form, "/Fields")
            if isinstance(form, generic.DictionaryObject)
            else None
        )
        if not isinstance(fields, generic.ArrayObject):
            raise _NotRecognised("/Fields is not a direct array")
        names: dict[tuple[int, int], str] = {}
        for i in range(len(fields)):
            ref = fields.raw_get(i)
            if not isinstance(ref, generic.IndirectObject):
                raise _NotRecognised("a direct field")
            field_dict = self.new(ref)
            if not isinstance(field_dict, generic.DictionaryObject):
                raise _NotRecognised("a field that is not a dictionary")
            name = _raw(field_dict, "/T")
            if not isinstance(
                name, generic.TextStringObject | generic.ByteStringObject
            ):
                raise _NotRecognised("a field without a name")
            names[_key(ref)] = str(name)
        if len(set(names.values())) != len(names):
            raise _NotRecognised("two fields of one name")
        return names


class FastDiffPolicy(DiffPolicy):
    """pyHanko's ``fallback`` policy, with the revisions that
    :class:`DocumentDiffs` recognises judged without it.

    :param fallback: the policy for everything else (and for signatures that
        restrict changes by DocMDP or FieldMDP).
    :param diffs: the recognised updates of the document under review.
    """

    def __init__(self, fallback: DiffPolicy, diffs: DocumentDiffs) -> None:
        self._fallback = fallback
        self._diffs = diffs

    def apply(
        self,
        old: HistoricalResolver,
        new: HistoricalResolver,
        field_mdp_spec: FieldMDPSpec | None = None,
        doc_mdp: MDPPerm | None = None,
    ) -> DiffResult:
        return self._fallback.apply(old, new, field_mdp_spec, doc_mdp)

    def review_file(
        self,
        reader: PdfFileReader,
        base_revision: int | HistoricalResolver,
        field_mdp_spec: FieldMDPSpec | None = None,
        doc_mdp: MDPPerm | None = None,
    ) -> DiffResult | SuspiciousModification:
        """As pyHanko's ``StandardDiffPolicy.review_file``: each revision after
        ``base_revision`` in turn, the highest level and every changed field."""
        if field_mdp_spec is not None or doc_mdp is not None:
            return self._fallback.review_file(
                reader, base_revision, field_mdp_spec, doc_mdp
            )
        base = (
            reader.get_historical_resolver(base_revision)
            if isinstance(base_revision, int)
            else base_revision
        )
        level = ModificationLevel.NONE
        changed: set[str] = set()
        for revision in range(base.revision + 1, reader.xrefs.total_revisions):
            result = self._diffs.result(revision)
            if result is None:
                try:
                    result = self._fallback.apply(
                        base, reader.get_historical_resolver(revision)
                    )
                except SuspiciousModification as exc:
                    logger.warning(
                        "Error in diff operation between revision %d and %d",
                        base.revision,
                        revision,
                        exc_info=exc,
                    )
                    return exc
            level = max(level, result.modification_level)
            changed |= result.changed_form_fields
        return DiffResult(modification_level=level, changed_form_fields=changed)
