"""A real OAI-PMH 2.0 repository for tests/harvest.rs: pyoai's server (protocol, argument
checks, resumption tokens, errors) over records the test writes to RECORDS (JSON, re-read on
every request, so the test can change or delete records between harvests), plus the files of
DIR under /files/. Offers oai_dc and DSpace-style METS with MODS.

    python3 server.py PORT RECORDS DIR

A record: {"id": "oai:test:1721.1/9000", "datestamp": "2026-01-01T00:00:00Z",
"deleted": false, "set": "rfc", "title": ..., "authors": [...], "advisors": [...],
"departments": [...], "year": 2021, "degree": "...", "pdf": "9000.pdf" or null}.
"""
import json
import os
import sys
from http.server import HTTPServer, BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qsl

import types
import urllib.parse
import warnings

# pyoai 2.5.0 decodes resumption tokens with cgi.parse_qs, which Python 3.8 removed (and
# Python 3.13 removed the cgi module): give it the function it means.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import cgi
    except ImportError:
        cgi = sys.modules["cgi"] = types.ModuleType("cgi")
if not hasattr(cgi, "parse_qs"):
    cgi.parse_qs = urllib.parse.parse_qs

from lxml.etree import SubElement
from oaipmh import common, error, metadata, server
from oaipmh.datestamp import datestamp_to_datetime


PORT, RECORDS, DIR = int(sys.argv[1]), sys.argv[2], sys.argv[3]
BASE = f"http://127.0.0.1:{PORT}"
DC = "http://purl.org/dc/elements/1.1/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
METS = "http://www.loc.gov/METS/"
MODS = "http://www.loc.gov/mods/v3"
XLINK = "http://www.w3.org/1999/xlink"


def load():
    with open(RECORDS) as f:
        return json.load(f)


def pdf_url(r):
    return f"{BASE}/files/{r['pdf']}" if r.get("pdf") else None


def write_dc(element, r):
    dc = SubElement(element, f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC})
    def add(name, value):
        SubElement(dc, f"{{{DC}}}{name}").text = str(value)
    add("title", r["title"])
    for a in r["authors"]:
        add("creator", a)
    for a in r["advisors"]:
        add("contributor", a)
    for d in r["departments"]:
        add("contributor", f"Internet Engineering Task Force. Department of {d}.")
    add("date", "2026-11-01T12:00:00Z")  # accessioned: later than the copyright year
    if r.get("year"):
        add("date", r["year"])
    add("identifier", f"http://hdl.handle.net/1721.1/{r['id'].rsplit('/', 1)[1]}")
    if pdf_url(r):
        add("identifier", pdf_url(r))
    if r.get("degree"):
        add("description", f"Thesis ({r['degree']})--Internet Engineering Task Force, {r.get('year')}.")
    add("type", "Thesis")


def write_mets(element, r):
    mets = SubElement(element, f"{{{METS}}}mets", nsmap={"mets": METS, "mods": MODS, "xlink": XLINK})
    dmd = SubElement(mets, f"{{{METS}}}dmdSec", ID="DMD")
    wrap = SubElement(dmd, f"{{{METS}}}mdWrap", MDTYPE="MODS")
    data = SubElement(wrap, f"{{{METS}}}xmlData")
    mods = SubElement(data, f"{{{MODS}}}mods")
    def name(value, role):
        n = SubElement(mods, f"{{{MODS}}}name")
        rl = SubElement(n, f"{{{MODS}}}role")
        SubElement(rl, f"{{{MODS}}}roleTerm", type="text").text = role
        SubElement(n, f"{{{MODS}}}namePart").text = value
    for a in r["advisors"]:
        name(a, "advisor")
    for a in r["authors"]:
        name(a, "author")
    for d in r["departments"]:
        name(d, "department")
    origin = SubElement(mods, f"{{{MODS}}}originInfo")
    SubElement(origin, f"{{{MODS}}}dateIssued", encoding="iso8601").text = "2026-11-01"
    if r.get("year"):
        SubElement(origin, f"{{{MODS}}}copyrightDate", encoding="iso8601").text = str(r["year"])
    SubElement(mods, f"{{{MODS}}}identifier", type="uri").text = (
        f"http://hdl.handle.net/1721.1/{r['id'].rsplit('/', 1)[1]}")
    if r.get("degree"):
        SubElement(mods, f"{{{MODS}}}note").text = f"Thesis ({r['degree']})--Internet Engineering Task Force"
    title = SubElement(mods, f"{{{MODS}}}titleInfo")
    SubElement(title, f"{{{MODS}}}title").text = r["title"]
    files = SubElement(mets, f"{{{METS}}}fileSec")
    thumb = SubElement(files, f"{{{METS}}}fileGrp", USE="THUMBNAIL")
    f = SubElement(thumb, f"{{{METS}}}file", MIMETYPE="image/jpeg")
    SubElement(f, f"{{{METS}}}FLocat", LOCTYPE="URL", **{f"{{{XLINK}}}href": f"{BASE}/files/thumb.jpg"})
    if pdf_url(r):
        orig = SubElement(files, f"{{{METS}}}fileGrp", USE="ORIGINAL")
        f = SubElement(orig, f"{{{METS}}}file", MIMETYPE="application/pdf")
        SubElement(f, f"{{{METS}}}FLocat", LOCTYPE="URL", **{f"{{{XLINK}}}href": pdf_url(r)})


class Repository:
    """The data side of pyoai's server (oaipmh.interfaces.IOAI)."""

    def identify(self):
        return common.Identify(
            repositoryName="Hamlet test repository (RFC index)",
            baseURL=f"{BASE}/oai",
            protocolVersion="2.0",
            adminEmails=["nobody@example.invalid"],
            earliestDatestamp=datestamp_to_datetime("2000-01-01T00:00:00Z"),
            deletedRecord="persistent",
            granularity="YYYY-MM-DDThh:mm:ssZ",
            compression=["identity"],
        )

    def listMetadataFormats(self, identifier=None):
        return [("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
                ("mets", "http://www.loc.gov/standards/mets/mets.xsd", METS)]

    def listSets(self):
        return [("rfc", "RFCs", None)]

    def _records(self, metadataPrefix, set=None, from_=None, until=None):
        if metadataPrefix not in ("oai_dc", "mets"):
            raise error.CannotDisseminateFormatError(f"{metadataPrefix} is not offered here")
        out = []
        for r in load():
            stamp = datestamp_to_datetime(r["datestamp"])
            if set is not None and r.get("set") != set:
                continue
            if from_ is not None and stamp < from_:
                continue
            if until is not None and stamp > until:
                continue
            header = common.Header(None, r["id"], stamp, [r.get("set", "rfc")], r.get("deleted", False))
            out.append((header, r, None))
        if not out:
            raise error.NoRecordsMatchError("No records match the request.")
        return out

    def listRecords(self, metadataPrefix, set=None, from_=None, until=None):
        return self._records(metadataPrefix, set, from_, until)

    def listIdentifiers(self, metadataPrefix, set=None, from_=None, until=None):
        return [h for h, _, _ in self._records(metadataPrefix, set, from_, until)]

    def getRecord(self, metadataPrefix, identifier):
        for h, r, a in self._records(metadataPrefix):
            if h.identifier() == identifier:
                return h, r, a
        raise error.IdDoesNotExistError(identifier)


registry = metadata.MetadataRegistry()
registry.registerWriter("oai_dc", write_dc)
registry.registerWriter("mets", write_mets)
oai = server.Server(Repository(), registry, resumption_batch_size=4)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/oai":
            body = oai.handleRequest(dict(parse_qsl(url.query)))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
        elif url.path.startswith("/files/") and "/" not in url.path[7:]:
            path = os.path.join(DIR, url.path[7:])
            if not os.path.isfile(path):
                self.send_error(404)
                return
            body = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
        else:
            self.send_error(404)
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
