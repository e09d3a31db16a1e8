"""Writes the compression-bomb seeds of fuzz/corpus/ (called by fuzz/make-seeds.sh): a PDF
whose content stream is Flate of Flate of 512 MB of zeros (about 2 kB), one whose stream is
Flate of 64 MB of zeros (64 kB), and a .docx whose document.xml is 128 MB of spaces (125 kB)."""
import io
import sys
import zipfile
import zlib

out = sys.argv[1]


def zeros_deflated(n):
    z = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    return b"".join(z.compress(chunk) for _ in range(n >> 20)) + z.flush()


def pdf(stream_dict, data):
    stream = b"<< /Length %d %s >>\nstream\n" % (len(data), stream_dict) + data + b"\nendstream"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>", stream]
    b = b"%PDF-1.4\n"
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(b))
        b += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    x = len(b)
    b += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    b += b"".join(b"%010d 00000 n \n" % o for o in offs)
    b += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    return b


big = zeros_deflated(512 << 20)
open(f"{out}/extract_pdf/bomb-flate-of-flate.pdf", "wb").write(
    pdf(b"/Filter [/FlateDecode /FlateDecode]", zlib.compress(big, 9)))
open(f"{out}/extract_pdf/bomb-flate-64mb.pdf", "wb").write(
    pdf(b"/Filter /FlateDecode", zeros_deflated(64 << 20)))
b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("word/document.xml", "w", force_zip64=True) as f:
        chunk = b" " * (1 << 20)
        for _ in range(128):
            f.write(chunk)
open(f"{out}/extract_docx/bomb-128mb-of-spaces.docx", "wb").write(b.getvalue())
