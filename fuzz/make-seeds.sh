#!/usr/bin/env bash
# Writes the seed corpora in fuzz/corpus/ (committed; rerun only to change them): small
# hand-made texts, .docx and .pdf files, a model file trained on three made-up documents, and
# two tiny gensim 4.4 Doc2Vec pickles and a .npy array (gensim from scripts/setup-gensim.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/corpus
mkdir -p "$out"/{extract_txt,extract_docx,extract_pdf,tokenize,model_file,gensim_pickle}
python3 - "$out" <<'PY'
import io, sys, zipfile
out = sys.argv[1]
def w(target, name, data):
    open(f"{out}/{target}/{name}", "wb").write(data)
text = "A transport protocol with streams, congestion control and a TLS handshake.\n"
w("extract_txt", "utf8.txt", text.encode())
w("extract_txt", "bom-utf16le.txt", b"\xff\xfe" + text.encode("utf-16-le"))
w("extract_txt", "cp1252.txt", "Caf\u00e9 na\u00efve \u2014 r\u00e9sum\u00e9 \u201cquoted\u201d\n".encode("cp1252"))
w("extract_txt", "latin1-binaryish.txt", bytes(range(0x20, 0x100)))
w("tokenize", "mixed.txt", "Hello, WORLD_42 \u00c9t\u00e9 \u0130stanbul \u00df \u0645\u0631\u062d\u0628\u0627 \u65e5\u672c e\u0301".encode())
def docx(body, extra=()):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + body + "</w:body></w:document>")
        for name, data in extra:
            z.writestr(name, data)
    return b.getvalue()
w("extract_docx", "two-paragraphs.docx", docx("<w:p><w:r><w:t>First paragraph.</w:t></w:r></w:p><w:p><w:r><w:t xml:space=\"preserve\">Second &amp; last.</w:t></w:r><w:tab/><w:r><w:t>Tabbed</w:t></w:r></w:p>"))
w("extract_docx", "table-and-nesting.docx", docx("<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell</w:t></w:r></w:p></w:tc></w:tr></w:tbl>" + "<w:p>" * 20 + "deep" + "</w:p>" * 20))
def pdf(lines):
    content = "BT /F1 11 Tf 14 TL 50 760 Td\n" + "".join(f"({l}) Tj T*\n" for l in lines) + "ET"
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    b = b"%PDF-1.4\n"; offs = []
    for i, o in enumerate(objs):
        offs.append(len(b)); b += f"{i+1} 0 obj\n{o}\nendobj\n".encode()
    x = len(b)
    b += f"xref\n0 {len(objs)+1}\n0000000000 65535 f \n".encode() + b"".join(f"{o:010} 00000 n \n".encode() for o in offs)
    b += f"trailer\n<< /Size {len(objs)+1} /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n".encode()
    return b
w("extract_pdf", "one-page.pdf", pdf(["Streams and congestion control.", "A second line."]))
w("extract_pdf", "truncated.pdf", pdf(["cut"])[:300])
PY
# Small bombs (issue 22): a few kB that inflate to hundreds of MB, so that the memory limits
# of scripts/fuzz.sh (-malloc_limit_mb=256) are met from the first run.
python3 fuzz/make-bomb-seeds.py "$out"
# A model seed: trained on three made-up documents (4 dimensions, one epoch): a few kB.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/texts"
echo "streams congestion control handshake packets loss recovery streams packets" >"$tmp/texts/1.txt"
echo "mail routing relay envelope headers delivery routing mail queue" >"$tmp/texts/2.txt"
echo "names zones resolvers caching records queries names zones" >"$tmp/texts/3.txt"
printf '{"identifier": %d, "title": "Seed %d"}\n' 1 1 2 2 3 3 >"$tmp/seed.jsonl"
export DATABASE_URL="sqlite://$tmp/seed.sqlite3"
./target/release/hamlet migrate >/dev/null
./target/release/hamlet import jsonl "$tmp/seed.jsonl" --texts "$tmp/texts" >/dev/null
./target/release/hamlet train --mode dbow --dim 4 --min-count 1 --epochs 1 --output "$out/model_file/seed.safetensors" >/dev/null
rm -f "$out/model_file/seed.safetensors.sha256"
# gensim seeds: a PV-DM and a PV-DBOW model on the same three documents (arrays pickled inline:
# the fuzz target looks for no side files), and one .npy array.
"$(bash scripts/setup-gensim.sh)" - "$out/gensim_pickle" <<'PY'
import sys, numpy as np
from gensim.models.doc2vec import Doc2Vec, TaggedDocument
out = sys.argv[1]
docs = [TaggedDocument(t.split(), [i]) for i, t in enumerate([
    "streams congestion control handshake packets loss recovery streams packets",
    "mail routing relay envelope headers delivery routing mail queue",
    "names zones resolvers caching records queries names zones"])]
for name, dm in (("dm", 1), ("dbow", 0)):
    m = Doc2Vec(docs, dm=dm, vector_size=4, min_count=1, epochs=1, workers=1, seed=1)
    m.save(f"{out}/{name}.pickle", separately=[])
np.save(f"{out}/vectors.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
PY
ls -la "$out"/*
